import type { ComposeEvent } from "./types";

export type ProgressRow = { key: string; label: string; status: string; done: boolean };

const FINAL = new Set(["created", "exists", "pulled", "built", "recreated", "started", "running", "healthy", "removed", "stopped", "exited"]);

/** Folds a progress event into one row per resource (the latest status wins), keeping order. */
export function applyEvent(rows: ProgressRow[], e: ComposeEvent): ProgressRow[] {
  if (e.kind === "warning") return [...rows, { key: `warning:${rows.length}`, label: e.message, status: "warning", done: true }];
  const key = `${e.kind}:${e.name}`;
  const kind = e.kind.charAt(0).toUpperCase() + e.kind.slice(1);
  const row = { key, label: `${kind} ${e.name}`, status: e.status, done: FINAL.has(e.status) };
  const i = rows.findIndex((r) => r.key === key);
  return i < 0 ? [...rows, row] : rows.map((r, j) => (j === i ? row : r));
}
