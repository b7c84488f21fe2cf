// A store that loads a resource list once and then reloads it, debounced, when the engine
// reports a change to a kind it cares about. No timers poll the engine.
import { errorMessage } from "./backend";
import { onEngineEvent } from "./events";
import type { EngineEvent } from "./generated";

const startedStores = new Set<{ load(): Promise<void> }>();

/** After the engine comes (back) up, every store that is in use reloads once. */
export function reloadStartedStores(): void {
  for (const s of startedStores) void s.load();
}

export class ResourceStore<T> {
  items = $state<T[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  private started = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private reloadAgain = false;

  constructor(
    private readonly fetch: () => Promise<T[]>,
    private readonly kinds: string[],
    private readonly debounceMs = 60,
  ) {}

  /** Loads once and follows events from then on; later calls are no-ops. */
  start(): void {
    if (this.started) return;
    this.started = true;
    startedStores.add(this);
    onEngineEvent((e) => this.onEvent(e));
    void this.load();
  }

  async load(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return;
    }
    this.loading = true;
    try {
      this.items = await this.fetch();
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = errorMessage(e);
    } finally {
      this.loading = false;
    }
    if (this.reloadAgain) {
      this.reloadAgain = false;
      await this.load();
    }
  }

  private onEvent(e: EngineEvent) {
    if (!this.kinds.includes(e.kind)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.load();
    }, this.debounceMs);
  }
}
