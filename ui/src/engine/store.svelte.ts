// The engine state machine as the UI sees it: loaded once, then every transition pushed.
import { backend, errorMessage } from "../lib/backend";
import type { EngineState, StartPhase } from "../lib/generated";
import { t, type Key } from "../lib/i18n";
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

const PHASES = {
  booting_vm: "engineState.phaseBootingVm",
  waiting_for_agent: "engineState.phaseWaitingForAgent",
  waiting_for_engine: "engineState.phaseWaitingForEngine",
} as const satisfies Record<StartPhase, Key>;

/** One short line for the sidebar. */
export function label(s: EngineState): string {
  switch (s.state) {
    case "running": return t("engineState.running");
    case "stopped": return t("engineState.stopped");
    case "stopping": return t("engineState.stopping");
    case "paused": return t("engineState.paused");
    case "starting": return t("engineState.starting");
    case "error":
      if (s.code === "engine_unreachable") return t("engineState.unreachable");
      return s.code === "missing_tool" ? t("engineState.needsProgram") : t("engineState.error");
  }
}

export function describe(s: EngineState): string {
  switch (s.state) {
    case "running": return t("engineState.running");
    case "stopped": return t("engineState.stopped");
    case "stopping": return t("engineState.stopping");
    case "paused": return t("engineState.pausedLong");
    case "starting": {
      const phase = s.phase in PHASES ? t(PHASES[s.phase]) : String(s.phase).replaceAll("_", " ");
      return t("engineState.startingPhase", { phase });
    }
    // A missing host program names itself and how to install it: that is the whole story.
    case "error": return s.code === "missing_tool" ? t("engineState.cannotStart", { message: s.message }) : t("engineState.errorLong", { message: s.message });
  }
}
