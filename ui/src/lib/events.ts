// One subscription to the engine's event stream, fanned out to the stores.
import { backend, type Unsubscribe } from "./backend";
import type { EngineEvent } from "./generated";

type Listener = (e: EngineEvent) => void;
const listeners = new Set<Listener>();
let upstream: Promise<Unsubscribe> | null = null;

export function onEngineEvent(listener: Listener): Unsubscribe {
  listeners.add(listener);
  upstream ??= backend().onEngineEvent((e) => {
    for (const l of listeners) l(e);
  });
  return () => listeners.delete(listener);
}

/** Tests reset the hub together with the backend. */
export async function resetEventHub() {
  const u = upstream;
  upstream = null;
  listeners.clear();
  if (u) (await u)();
}
