// One subscription to the engine's event stream, fanned out to the stores: each event, and a
// resync when the window fell behind a burst (the events it missed are gone).
import { backend, type Unsubscribe } from "./backend";
import type { EngineEvent } from "./generated";

type Listener = (e: EngineEvent) => void;
const listeners = new Set<Listener>();
const resyncListeners = new Set<() => void>();
let upstream: Promise<Unsubscribe> | null = null;

function subscribe() {
  upstream ??= backend().onEngineEvent((item) => {
    if (item.type === "event") for (const l of listeners) l(item.event);
    else for (const l of resyncListeners) l();
  });
}

export function onEngineEvent(listener: Listener): Unsubscribe {
  listeners.add(listener);
  subscribe();
  return () => listeners.delete(listener);
}

/** Called when events were missed: reload whatever the events would have updated. */
export function onResync(listener: () => void): Unsubscribe {
  resyncListeners.add(listener);
  subscribe();
  return () => resyncListeners.delete(listener);
}

/** Tests reset the hub together with the backend. */
export async function resetEventHub() {
  const u = upstream;
  upstream = null;
  listeners.clear();
  resyncListeners.clear();
  if (u) (await u)();
}
