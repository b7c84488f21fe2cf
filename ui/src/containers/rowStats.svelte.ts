// The CPU and memory cells of the containers list. Rows say which running containers they
// show (`watch`) and one stats feed samples them all, so the window hears once a second however
// many rows are running. The watched set goes to the backend after a short settle, so that
// scrolling past rows does not start and stop a stream for each of them. One per list: it
// closes its feed when the list goes away.
import { SvelteMap } from "svelte/reactivity";
import { backend, type StatsFeed } from "../lib/backend";
import type { StatsSample } from "../lib/generated";

export interface RowStats {
  /** Samples `id` until the returned function is called (calls nest). */
  watch(id: string): () => void;
  sample(id: string): StatsSample | null;
  close(): void;
}

export function createRowStats(settleMs = 150): RowStats {
  const samples = new SvelteMap<string, StatsSample>();
  const watchers = new Map<string, number>();
  let feed: Promise<StatsFeed> | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let syncing: Promise<void> = Promise.resolve();

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      syncing = syncing.then(sync);
    }, settleMs);
  }

  async function sync() {
    const ids = [...watchers.keys()];
    if (!ids.length) return closeFeed();
    feed ??= backend().openStatsFeed((batch) => {
      for (const s of batch) if (watchers.has(s.id)) samples.set(s.id, s);
    });
    try {
      await (await feed).watch(ids);
    } catch {
      // No engine, or it went away: the cells keep showing "—"; the next change tries again.
      closeFeed();
    }
  }

  function closeFeed() {
    const closing = feed;
    feed = null;
    closing?.then((f) => f.close(), () => {});
  }

  return {
    watch(id) {
      watchers.set(id, (watchers.get(id) ?? 0) + 1);
      schedule();
      return () => {
        const left = (watchers.get(id) ?? 1) - 1;
        if (left) watchers.set(id, left);
        else {
          watchers.delete(id);
          samples.delete(id);
        }
        schedule();
      };
    },
    sample: (id) => samples.get(id) ?? null,
    close() {
      if (timer) clearTimeout(timer);
      watchers.clear();
      samples.clear();
      syncing = syncing.then(closeFeed);
    },
  };
}
