import { describe, expect, it, vi } from "vitest";
import { lazy, resolve, routes } from "./routes";
import ContainerList from "./containers/ContainerList.svelte";

describe("routes", () => {
  it("loads each page once, however often it is shown", async () => {
    const load = vi.fn(async () => ({ default: ContainerList }));
    const page = lazy(load);
    expect(await page()).toBe(ContainerList);
    expect(await page()).toBe(ContainerList);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("tries a page that failed to load again the next time", async () => {
    const load = vi
      .fn()
      .mockRejectedValueOnce(new Error("chunk missing"))
      .mockResolvedValueOnce({ default: ContainerList });
    const page = lazy(load);
    await expect(page()).rejects.toThrow("chunk missing");
    expect(await page()).toBe(ContainerList);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("gives the containers list at once and every other page as its own load", async () => {
    expect(await resolve("/containers").route.page()).toBe(ContainerList);
    const details = resolve("/containers/abc/exec");
    expect(details.params).toEqual({ id: "abc", tab: "exec" });
    for (const route of routes) expect(typeof (await route.page())).toBe("function");
  });
});
