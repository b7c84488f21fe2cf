import type { Backend } from "./types";
import { MockBackend } from "./mock";
import { TauriBackend } from "./tauri";

export type * from "./types";
export { errorMessage, errorCode } from "./types";

let current: Backend | null = null;

/** The backend the app uses: Tauri inside the app window, the mock in a plain browser. */
export function backend(): Backend {
  if (!current) {
    current = "__TAURI_INTERNALS__" in window ? new TauriBackend() : new MockBackend();
  }
  return current;
}

/** Tests install a mock before mounting components. */
export function setBackend(b: Backend) {
  current = b;
}
