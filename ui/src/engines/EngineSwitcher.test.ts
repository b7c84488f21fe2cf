import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import EngineSwitcher from "./EngineSwitcher.svelte";
import { eventually, freshBackend } from "../lib/test-kit";

describe("EngineSwitcher", () => {
  it("shows the followed engine and switches every page to another", async () => {
    const b = await freshBackend();
    render(EngineSwitcher);
    const select = screen.getByTestId("engine-switcher") as HTMLSelectElement;
    await eventually(() => expect(select.value).toBe("berth"));
    expect([...select.options].map((o) => o.value)).toEqual(["berth", "default"]);
    await fireEvent.change(select, { target: { value: "default" } });
    await eventually(() => expect(b.calls).toContain("switchEngine:default"));
    expect(b.engines.followed).toBe("default");
    expect(b.engines.list.find((e) => e.current)?.name).toBe("default");
  });

  it("says why a switch failed", async () => {
    const b = await freshBackend();
    render(EngineSwitcher);
    const select = screen.getByTestId("engine-switcher") as HTMLSelectElement;
    await eventually(() => expect(select.options.length).toBe(2));
    b.failNext = { code: "not_found", message: "no engine named default" };
    await fireEvent.change(select, { target: { value: "default" } });
    await eventually(() => expect(screen.getByRole("alert")).toHaveTextContent("no engine named default"));
  });
});
