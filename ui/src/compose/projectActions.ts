import type { ProjectAction } from "./types";

/** Which project actions make sense with `running` of `total` containers up. */
export function allowedActions(running: number, total: number): Record<ProjectAction, boolean> {
  return { start: running < total, stop: running > 0, restart: total > 0, down: total > 0 };
}

export const actionLabels: Record<ProjectAction, string> = { start: "Start", stop: "Stop", restart: "Restart", down: "Down" };
