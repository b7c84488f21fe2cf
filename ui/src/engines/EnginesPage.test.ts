import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import EnginesPage from "./EnginesPage.svelte";
import { mockEngine } from "./mock";
import { eventually, freshBackend } from "../lib/test-kit";
import { setLanguage } from "../lib/i18n";

const row = (name: string) => screen.getAllByTestId("engine-row").find((r) => r.dataset.name === name)!;

describe("EnginesPage", () => {
  it("lists every engine with its kind, state and why one does not answer", async () => {
    const b = await freshBackend();
    b.engines.list.push(mockEngine("colima", { endpoint: "unix:///home/u/.colima/docker.sock" }));
    b.engines.list[0].paused = true;
    b.engines.list[0].version = null;
    render(EnginesPage);
    await eventually(() => expect(screen.getAllByTestId("engine-row")).toHaveLength(3));
    expect(row("berth")).toHaveTextContent("Current");
    expect(row("berth")).toHaveTextContent("Paused (wakes when used)");
    expect(row("colima")).toHaveTextContent("Docker context(read-only)");
    expect(row("default")).toHaveTextContent("Unreachable");
    expect(screen.getByText(/Engine unreachable at unix:\/\/\/var\/run\/docker.sock/)).toBeInTheDocument();
    expect(within(row("colima")).queryByTestId("engine-remove")).toBeNull();
  });

  it("adds a remote after its connection test, says why one fails, uses and removes it", async () => {
    const b = await freshBackend();
    render(EnginesPage);
    await eventually(() => screen.getAllByTestId("engine-row"));
    await fireEvent.click(screen.getByTestId("engine-add-open"));
    await fireEvent.input(screen.getByTestId("engine-name"), { target: { value: "build" } });
    await fireEvent.input(screen.getByTestId("engine-address"), { target: { value: "ssh://me@gone.example" } });
    expect(screen.queryByTestId("engine-tls-ca")).toBeNull();
    await fireEvent.click(screen.getByTestId("engine-add"));
    await eventually(() => expect(screen.getByTestId("engine-add-error")).toHaveTextContent("Remote engine unreachable"));
    expect(b.engines.list.some((e) => e.name === "build")).toBe(false);

    await fireEvent.input(screen.getByTestId("engine-address"), { target: { value: "ssh://me@build.example" } });
    await fireEvent.click(screen.getByTestId("engine-add"));
    await eventually(() => expect(screen.getByTestId("engines-notice")).toHaveTextContent("Added build: Docker 28.2.2 answers."));
    await eventually(() => expect(row("build")).toHaveTextContent("Remote"));

    await fireEvent.click(within(row("build")).getByTestId("engine-use"));
    await eventually(() => expect(row("build")).toHaveTextContent("Current"));
    expect(b.calls).toContain("useEngine:build");

    await fireEvent.click(within(row("build")).getByTestId("engine-remove"));
    await fireEvent.click(screen.getByTestId("confirm"));
    await eventually(() => expect(screen.getAllByTestId("engine-row").map((r) => r.dataset.name)).not.toContain("build"));
  });

  it("asks for the three TLS files of a tcp:// engine and checks the form first", async () => {
    const b = await freshBackend();
    render(EnginesPage);
    await fireEvent.click(screen.getByTestId("engine-add-open"));
    await fireEvent.click(screen.getByTestId("engine-add"));
    expect(screen.getByTestId("engine-add-error")).toHaveTextContent("Enter a name");
    await fireEvent.input(screen.getByTestId("engine-name"), { target: { value: "secure" } });
    await fireEvent.input(screen.getByTestId("engine-address"), { target: { value: "build.example:2376" } });
    await fireEvent.click(screen.getByTestId("engine-add"));
    expect(screen.getByTestId("engine-add-error")).toHaveTextContent("ssh:// or tcp://");
    await fireEvent.input(screen.getByTestId("engine-address"), { target: { value: "tcp://build.example:2376" } });
    for (const id of ["engine-tls-ca", "engine-tls-cert", "engine-tls-key"]) screen.getByTestId(id);
    expect(b.calls.filter((c) => c.startsWith("addRemoteEngine"))).toEqual([]);
  });

  it("speaks Japanese", async () => {
    await freshBackend();
    setLanguage("ja");
    try {
      render(EnginesPage);
      await eventually(() => expect(row("default")).toHaveTextContent("接続できません"));
      expect(screen.getByRole("heading", { name: "エンジン" })).toBeInTheDocument();
      expect(screen.getByTestId("engine-add-open")).toHaveTextContent("リモートエンジンを追加");
    } finally {
      setLanguage("en");
    }
  });
});
