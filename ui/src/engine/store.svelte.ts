// The engine state machine as the UI sees it: loaded once, then every transition pushed.
import { backend, errorMessage } from "../lib/backend";
import type { EngineState } from "../lib/generated";
import { reloadStartedStores } from "../lib/resource.svelte";

export class EngineStore {
  state = $state<EngineState>({ state: "starting", phase: "waiting_for_engine" });
  error = $state<string | null>(null);
  // The backend followed (the app has one; each component test installs a fresh mock).
  private following: unknown = null;

  start() {
    if (this.following === backend()) return;
    this.following = backend();
    void backend().onEngineState((s) => {
      const wasRunning = this.running;
      this.state = s;
      if (!wasRunning && this.running) reloadStartedStores();
    });
    backend()
      .engineState()
      .then((s) => (this.state = s))
      .catch((e) => (this.error = errorMessage(e)));
  }

  get running() {
    return this.state.state === "running";
  }
}

export const engine = new EngineStore();

/** One short line for the sidebar and the tray. */
export function label(s: EngineState): string {
  switch (s.state) {
    case "running": return "Engine running";
    case "stopped": return "Engine stopped";
    case "stopping": return "Engine stopping…";
    case "paused": return "Engine paused";
    case "starting": return "Engine starting…";
    case "error":
      if (s.code === "engine_unreachable") return "Engine unreachable";
      return s.code === "missing_tool" ? "Engine needs a program" : "Engine error";
  }
}

export function describe(s: EngineState): string {
  switch (s.state) {
    case "running": return "Engine running";
    case "stopped": return "Engine stopped";
    case "stopping": return "Engine stopping…";
    case "paused": return "Engine paused by Resource Saver: the next docker command wakes it";
    case "starting": return `Engine starting (${s.phase.replaceAll("_", " ")})…`;
    // A missing host program names itself and how to install it: that is the whole story.
    case "error": return s.code === "missing_tool" ? `Cannot start the engine: ${s.message}` : `Engine error: ${s.message}`;
  }
}
