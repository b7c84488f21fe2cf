import type { Key } from "../lib/i18n";
import type { ProjectAction } from "./types";

/** Which project actions make sense with `running` of `total` containers up. */
export function allowedActions(running: number, total: number): Record<ProjectAction, boolean> {
  return { start: running < total, stop: running > 0, restart: total > 0, down: total > 0 };
}

/** Each action's button text (a key for `t`). */
export const actionLabels = { start: "common.start", stop: "common.stop", restart: "common.restart", down: "compose.down" } as const satisfies Record<ProjectAction, Key>;
