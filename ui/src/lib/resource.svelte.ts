// A store that loads a resource list once and then follows the engine's events: an event that
// names one item refreshes that item alone (when the store knows how), any other event of a
// kind it cares about reloads the list, debounced, and a resync (the window missed events)
// reloads it too. No timers poll the engine.
import { errorMessage } from "./backend";
import { onEngineEvent, onResync } from "./events";
import type { EngineEvent } from "./generated";

const startedStores = new Set<{ load(): Promise<void> }>();

/** After the engine comes (back) up, every store that is in use reloads once. */
export function reloadStartedStores(): void {
  for (const s of startedStores) void s.load();
}

/** How a store refreshes the one item an event is about, instead of the whole list. */
export interface OneItem<T> {
  /** The item an event is about, or null when the event needs the whole list. */
  idOf(e: EngineEvent): string | null;
  /** The item as the list shows it, or null when it is gone (or not the store's). */
  fetch(id: string): Promise<T | null>;
  /** Whether `item` is the one `id` names (ids may be given short). */
  is(item: T, id: string): boolean;
}

export class ResourceStore<T> {
  items = $state<T[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  private started = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private reloadAgain = false;
  /** Items with an event waiting for their refresh (debounced together). */
  private pendingIds = new Set<string>();
  private oneTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly fetch: () => Promise<T[]>,
    private readonly kinds: string[],
    private readonly debounceMs = 60,
    private readonly one: OneItem<T> | null = null,
  ) {}

  /** Loads once and follows events from then on; later calls are no-ops. */
  start(): void {
    if (this.started) return;
    this.started = true;
    startedStores.add(this);
    onEngineEvent((e) => this.onEvent(e));
    onResync(() => this.scheduleLoad());
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
    const id = this.one?.idOf(e) ?? null;
    if (id === null || !this.loaded) {
      this.scheduleLoad();
      return;
    }
    this.pendingIds.add(id);
    if (this.oneTimer) clearTimeout(this.oneTimer);
    this.oneTimer = setTimeout(() => {
      this.oneTimer = null;
      void this.refreshPending();
    }, this.debounceMs);
  }

  private scheduleLoad() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.load();
    }, this.debounceMs);
  }

  /** Each item an event named since the last refresh: fetched alone and put in its place. */
  private async refreshPending() {
    const one = this.one;
    if (!one) return;
    const ids = [...this.pendingIds];
    this.pendingIds.clear();
    for (const id of ids) {
      try {
        const item = await one.fetch(id);
        const at = this.items.findIndex((i) => one.is(i, id));
        if (item === null) {
          if (at >= 0) this.items.splice(at, 1);
        } else if (at >= 0) {
          this.items[at] = item;
        } else {
          this.items.push(item);
        }
      } catch {
        // The one-item path failed (the engine went away mid-burst): the whole list is the
        // answer, and its error is what the view shows.
        this.scheduleLoad();
        return;
      }
    }
  }
}
