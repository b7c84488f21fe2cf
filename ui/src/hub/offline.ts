import { errorCode, errorMessage } from "../lib/backend";

/** Hub's web API answers `io` when it cannot be reached: the page says "offline", not "failed". */
export function hubProblem(e: unknown): { offline: boolean; message: string } {
  return { offline: errorCode(e) === "io", message: errorMessage(e) };
}
