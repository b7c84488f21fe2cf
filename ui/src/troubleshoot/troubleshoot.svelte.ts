// The Troubleshoot page's state: a log view (on demand, or following while the page shows it),
// and the one-shot actions (restart, clean up, diagnostics, factory reset) with their outcome.
import { backend, errorMessage } from "../lib/backend";
import type { CleanUpSummary, DiagnosticsBundle, FactoryResetDone, LogSource, LogTail } from "../lib/generated";
import { t } from "../lib/i18n";

/** How often a followed log is read again (a file on this computer, not the engine). */
export const FOLLOW_MS = 2000;

/** The phrase the factory reset asks the user to type. */
export const RESET_PHRASE = "reset";

export class LogView {
  source = $state<LogSource>("berth");
  tail = $state<LogTail | null>(null);
  error = $state<string | null>(null);
  following = $state(false);
  private timer: ReturnType<typeof setInterval> | null = null;

  async refresh() {
    const source = this.source;
    try {
      const tail = await backend().readLog(source);
      if (source === this.source) this.tail = tail;
      this.error = null;
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  async show(source: LogSource) {
    this.source = source;
    this.tail = null;
    await this.refresh();
  }

  follow(on: boolean) {
    this.following = on;
    if (this.timer) clearInterval(this.timer);
    this.timer = on ? setInterval(() => void this.refresh(), FOLLOW_MS) : null;
    if (on) void this.refresh();
  }

  stop() {
    this.follow(false);
  }
}

export class Troubleshoot {
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  cleanUp = $state<CleanUpSummary | null>(null);
  bundle = $state<DiagnosticsBundle | null>(null);
  reset = $state<FactoryResetDone | null>(null);

  private async run<T>(what: string, f: () => Promise<T>): Promise<T | null> {
    this.busy = what;
    this.error = null;
    this.notice = null;
    try {
      return await f();
    } catch (e) {
      this.error = errorMessage(e);
      return null;
    } finally {
      this.busy = null;
    }
  }

  async restartEngine() {
    if ((await this.run("restart", () => backend().restartEngine().then(() => true))) !== null) {
      this.notice = t("troubleshoot.restarted");
    }
  }

  async runCleanUp(volumes: boolean) {
    this.cleanUp = await this.run("cleanUp", () => backend().cleanUp(volumes));
  }

  async createDiagnostics(path: string) {
    this.bundle = await this.run("diagnostics", () => backend().createDiagnostics(path.trim() || null));
  }

  /** Only with the typed phrase: everything goes back to a first start. */
  async factoryReset(typed: string): Promise<boolean> {
    if (typed.trim().toLowerCase() !== RESET_PHRASE) return false;
    this.reset = await this.run("reset", () => backend().factoryReset());
    return this.reset !== null;
  }
}
