import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import EnginePage from "./EnginePage.svelte";
import { EngineStore, describe as describeState, engine, label as labelState } from "./store.svelte";
import { eventually, freshBackend } from "../lib/test-kit";

describe("engine", () => {
  it("describes every state in words", () => {
    expect(describeState({ state: "starting", phase: "waiting_for_agent" })).toBe("Engine starting (waiting for agent)…");
    expect(describeState({ state: "error", code: "engine_unreachable", message: "gone" })).toBe("Engine error: gone");
  });

  it("names a missing host program and how to install it, with Retry", async () => {
    const b = await freshBackend();
    render(EnginePage);
    await eventually(() => expect(screen.getByText("20.10.24")).toBeInTheDocument());
    const message = "qemu-img not found: install the qemu-utils package";
    b.setState({ state: "error", code: "missing_tool", message });
    await eventually(() => expect(screen.getByTestId("engine-state")).toHaveTextContent(`Cannot start the engine: ${message}`));
    expect(screen.queryByText(/^missing_tool:/)).toBeNull();
    expect(labelState({ state: "error", code: "missing_tool", message })).toBe("Engine needs a program");
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });

  it("the store follows pushed transitions", async () => {
    const b = await freshBackend();
    const store = new EngineStore();
    store.start();
    await eventually(() => expect(store.state.state).toBe("running"));
    b.setState({ state: "error", code: "engine_unreachable", message: "gone" });
    expect(store.state.state).toBe("error");
  });

  it("shows versions and disk usage, and offers Retry on error", async () => {
    const b = await freshBackend();
    render(EnginePage);
    await eventually(() => expect(screen.getByText("20.10.24")).toBeInTheDocument());
    expect(screen.getByTestId("disk-usage")).toHaveTextContent("Build cache");
    expect(screen.getByTestId("vm-host-memory")).toHaveTextContent("851 MB in use on this computer");
    b.setState({ state: "error", code: "engine_unreachable", message: "No engine answers" });
    await eventually(() => expect(screen.getByTestId("engine-state")).toHaveTextContent("Engine error: No engine answers"));
    await fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(b.calls).toContain("startEngine");
    await eventually(() => expect(engine.state.state).toBe("running"));
  });

  it("restarts through one request and offers Stop while starting", async () => {
    const b = await freshBackend();
    render(EnginePage);
    await eventually(() => expect(screen.getByRole("button", { name: "Restart" })).toBeInTheDocument());
    await fireEvent.click(screen.getByRole("button", { name: "Restart" }));
    await eventually(() => expect(b.calls).toContain("restartEngine"));
    expect(b.calls).not.toContain("stopEngine");

    b.setState({ state: "starting", phase: "booting_vm" });
    await eventually(() => expect(screen.getByTestId("engine-state")).toHaveTextContent("Engine starting (booting vm)…"));
    await fireEvent.click(screen.getByRole("button", { name: "Stop" }));
    await eventually(() => expect(b.calls).toContain("stopEngine"));
  });
});
