import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import TroubleshootPage from "./TroubleshootPage.svelte";
import { FOLLOW_MS, LogView, Troubleshoot } from "./troubleshoot.svelte";
import { mockContainer, mockSettings } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("troubleshoot store", () => {
  it("reads the log on demand and follows it while asked", async () => {
    vi.useFakeTimers();
    try {
      const b = await freshBackend();
      const log = new LogView();
      await log.refresh();
      expect(log.tail?.text).toContain("engine running");
      await log.show("vmConsole");
      expect(log.tail?.text).toContain("berth-agent: ready");
      log.follow(true);
      b.logs.vmConsole += "a new line\n";
      await vi.advanceTimersByTimeAsync(FOLLOW_MS + 10);
      expect(log.tail?.text).toContain("a new line");
      log.stop();
      const reads = b.calls.filter((c) => c === "readLog:vmConsole").length;
      await vi.advanceTimersByTimeAsync(FOLLOW_MS * 3);
      expect(b.calls.filter((c) => c === "readLog:vmConsole").length).toBe(reads);
    } finally {
      vi.useRealTimers();
    }
  });

  it("factory reset needs the typed phrase", async () => {
    const b = await freshBackend();
    const t = new Troubleshoot();
    expect(await t.factoryReset("yes")).toBe(false);
    expect(b.calls).not.toContain("factoryReset");
    expect(await t.factoryReset(" Reset ")).toBe(true);
    expect(b.calls).toContain("factoryReset");
    expect(b.state.state).toBe("stopped");
  });

  it("an error says what happened", async () => {
    const b = await freshBackend();
    const t = new Troubleshoot();
    b.failNext = { code: "engine_unreachable", message: "No engine answers" };
    await t.runCleanUp(false);
    expect(t.cleanUp).toBeNull();
    expect(t.error).toBe("No engine answers");
  });
});

describe("troubleshoot page", () => {
  it("cleans up after a confirmation and shows the space freed", async () => {
    const b = await freshBackend({ containers: [mockContainer(1, { state: "exited" }), mockContainer(2)] });
    render(TroubleshootPage);
    await eventually(() => expect(screen.getByTestId("ts-cleanup")).not.toBeDisabled());
    await fireEvent.click(screen.getByTestId("ts-cleanup"));
    expect(b.calls.some((c) => c.startsWith("cleanUp"))).toBe(false);
    await fireEvent.click(screen.getByTestId("cleanup-volumes"));
    await fireEvent.click(screen.getByTestId("confirm-cleanup"));
    await eventually(() => expect(screen.getByTestId("cleanup-summary")).toHaveTextContent("Clean up freed 1.0 KB"));
    expect(screen.getByTestId("cleanup-summary")).toHaveTextContent("Containers: 1 removed");
    expect(screen.getByTestId("cleanup-summary")).toHaveTextContent("Volumes: 0 removed");
    expect(b.calls).toContain("cleanUp:true");
  });

  it("shows Berth's log and the VM console, and writes a diagnostics bundle", async () => {
    const b = await freshBackend();
    render(TroubleshootPage);
    await eventually(() => expect(screen.getByTestId("log-text")).toHaveTextContent("engine running"));
    await fireEvent.click(screen.getByTestId("log-vm"));
    await eventually(() => expect(screen.getByTestId("log-text")).toHaveTextContent("Linux version"));
    expect(screen.getByTestId("log-files")).toHaveTextContent("console.log");
    await fireEvent.click(screen.getByTestId("ts-diagnostics"));
    await eventually(() => expect(screen.getByTestId("diagnostics-result")).toHaveTextContent("berth-diagnostics-1.tar.gz"));
    expect(b.calls).toContain("createDiagnostics:default");
  });

  it("does not offer to restart an engine Berth did not start", async () => {
    const b = await freshBackend();
    b.settings = mockSettings({ ownsEngine: false });
    render(TroubleshootPage);
    await eventually(() => expect(screen.getByTestId("ts-restart")).toBeDisabled());
    expect(screen.getByText(/restart it where it was started/)).toBeInTheDocument();
  });

  it("restarts the engine and resets only after the phrase is typed", async () => {
    const b = await freshBackend();
    render(TroubleshootPage);
    await fireEvent.click(screen.getByTestId("ts-restart"));
    await eventually(() => expect(b.calls).toContain("restartEngine"));
    await fireEvent.click(screen.getByTestId("ts-reset"));
    expect(screen.getByTestId("confirm-reset")).toBeDisabled();
    await fireEvent.input(screen.getByTestId("reset-typed"), { target: { value: "reset" } });
    expect(screen.getByTestId("confirm-reset")).not.toBeDisabled();
    await fireEvent.click(screen.getByTestId("confirm-reset"));
    await eventually(() => expect(screen.getByTestId("reset-result")).toHaveTextContent("back to factory defaults"));
    expect(b.calls).toContain("factoryReset");
  });
});
