import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import QuitDialog from "./QuitDialog.svelte";
import { eventually, freshBackend } from "../lib/test-kit";

describe("quit dialog", () => {
  it("stays closed until the app asks", async () => {
    await freshBackend();
    render(QuitDialog);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("quit-question")).not.toBeInTheDocument();
  });

  it("stops the engine, keeps it running, or cancels", async () => {
    const b = await freshBackend();
    render(QuitDialog);
    await eventually(() => expect(b.quitListeners.size).toBe(1));

    b.requestQuit();
    await eventually(() => expect(screen.getByTestId("quit-question")).toBeInTheDocument());
    await fireEvent.click(screen.getByTestId("quit-cancel"));
    await eventually(() => expect(screen.queryByTestId("quit-question")).not.toBeInTheDocument());
    expect(b.calls.filter((c) => c.startsWith("quitApp"))).toEqual([]);

    b.requestQuit();
    await fireEvent.click(await screen.findByRole("button", { name: "Keep running and quit" }));
    await eventually(() => expect(b.calls).toContain("quitApp:false"));

    b.requestQuit();
    await fireEvent.click(await screen.findByRole("button", { name: "Stop engine and quit" }));
    await eventually(() => expect(b.calls).toContain("quitApp:true"));

    b.requestQuit();
    await fireEvent.click(await screen.findByTestId("quit-remember"));
    await fireEvent.click(await screen.findByRole("button", { name: "Keep running and quit" }));
    await eventually(() => expect(b.calls).toContain("quitApp:false:remember"));
  });

  it("says why quitting failed and stays open", async () => {
    const b = await freshBackend();
    render(QuitDialog);
    await eventually(() => expect(b.quitListeners.size).toBe(1));
    b.requestQuit();
    b.failNext = { code: "engine_unreachable", message: "the daemon is gone" };
    await fireEvent.click(await screen.findByTestId("quit-stop"));
    await eventually(() => expect(screen.getByRole("alert")).toHaveTextContent("the daemon is gone"));
    expect(screen.getByTestId("quit-question")).toBeInTheDocument();
  });
});
