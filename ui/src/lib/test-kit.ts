// Shared set-up for component tests: a fresh mock backend and event hub per test.
import { setBackend } from "./backend";
import { MockBackend, type MockData } from "./backend/mock";
import { resetEventHub } from "./events";

export async function freshBackend(data: Partial<MockData> = {}): Promise<MockBackend> {
  await resetEventHub();
  const b = new MockBackend(data);
  setBackend(b);
  return b;
}

/** Waits until `check` passes or the deadline passes (then rethrows its last error). */
export async function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
