import { t, type Key } from "../lib/i18n";
import type { ComposeEvent, ComposeStatus } from "./types";

export type ProgressRow = { key: string; label: string; status: string; done: boolean };

const FINAL = new Set(["created", "exists", "pulled", "built", "recreated", "started", "running", "healthy", "removed", "stopped", "exited"]);

const KINDS = {
  container: "compose.kindContainer", network: "compose.kindNetwork", volume: "compose.kindVolume", image: "compose.kindImage",
} as const satisfies Record<Exclude<ComposeEvent["kind"], "warning">, Key>;

const STATUSES = {
  creating: "compose.statusCreating", created: "compose.statusCreated", exists: "compose.statusExists",
  pulling: "compose.statusPulling", pulled: "compose.statusPulled", building: "compose.statusBuilding",
  built: "compose.statusBuilt", recreate: "compose.statusRecreate", recreated: "compose.statusRecreated",
  starting: "compose.statusStarting", started: "compose.statusStarted", running: "compose.statusRunning",
  waiting: "compose.statusWaiting", healthy: "compose.statusHealthy", exited: "compose.statusExited",
  stopping: "compose.statusStopping", stopped: "compose.statusStopped", removing: "compose.statusRemoving",
  removed: "compose.statusRemoved",
} as const satisfies Record<ComposeStatus, Key>;

/** A progress row's status in words (one the UI does not know yet as it came). */
export function statusText(status: string): string {
  return status in STATUSES ? t(STATUSES[status as ComposeStatus]) : status;
}

/** Folds a progress event into one row per resource (the latest status wins), keeping order. */
export function applyEvent(rows: ProgressRow[], e: ComposeEvent): ProgressRow[] {
  if (e.kind === "warning") return [...rows, { key: `warning:${rows.length}`, label: e.message, status: "warning", done: true }];
  const key = `${e.kind}:${e.name}`;
  const row = { key, label: `${t(KINDS[e.kind])} ${e.name}`, status: e.status, done: FINAL.has(e.status) };
  const i = rows.findIndex((r) => r.key === key);
  return i < 0 ? [...rows, row] : rows.map((r, j) => (j === i ? row : r));
}
