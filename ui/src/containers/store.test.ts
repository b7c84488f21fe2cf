import { describe, expect, it } from "vitest";
import { createContainersStore, groupByProject, matches } from "./store.svelte";
import { mockContainer } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("containers store", () => {
  it("loads once, then follows engine events without polling", async () => {
    const b = await freshBackend({ containers: [mockContainer(1)] });
    const store = createContainersStore();
    store.start();
    store.start();
    await eventually(() => expect(store.items).toHaveLength(1));
    expect(b.calls.filter((c) => c === "listContainers")).toHaveLength(1);

    b.data.containers.push(mockContainer(2));
    b.emit("container", "create", "c2");
    b.emit("container", "start", "c2");
    await eventually(() => expect(store.items).toHaveLength(2));
    // Two events in a burst cost one reload (debounced).
    expect(b.calls.filter((c) => c === "listContainers")).toHaveLength(2);
  });

  it("leaves out Berth's own helper containers", async () => {
    await freshBackend({ containers: [mockContainer(1), mockContainer(2, { labels: { "dev.berth.helper": "volume-archive" } })] });
    const store = createContainersStore();
    store.start();
    await eventually(() => expect(store.loaded).toBe(true));
    expect(store.items.map((c) => c.id)).toEqual(["c00000000001"]);
  });

  it("ignores events of other kinds", async () => {
    const b = await freshBackend({ containers: [mockContainer(1)] });
    const store = createContainersStore();
    store.start();
    await eventually(() => expect(store.loaded).toBe(true));
    b.emit("volume", "create", "v");
    await new Promise((r) => setTimeout(r, 120));
    expect(b.calls.filter((c) => c === "listContainers")).toHaveLength(1);
  });

  it("keeps the error for the view and clears it on the next good load", async () => {
    const b = await freshBackend();
    b.failNext = { code: "engine_unreachable", message: "No engine answers" };
    const store = createContainersStore();
    store.start();
    await eventually(() => expect(store.error).toBe("No engine answers"));
    await store.load();
    expect(store.error).toBeNull();
  });

  it("groups compose projects first, standalone containers last", () => {
    const groups = groupByProject([
      mockContainer(1, { name: "solo" }),
      mockContainer(2, { name: "web", composeProject: "shop" }),
      mockContainer(3, { name: "db", labels: { "com.docker.compose.project": "shop" } }),
      mockContainer(4, { name: "api", composeProject: "auth" }),
    ]);
    expect(groups.map((g) => g.project)).toEqual(["auth", "shop", null]);
    expect(groups[1].items.map((c) => c.name)).toEqual(["db", "web"]);
  });

  it("matches search on name, image, state and project", () => {
    const c = mockContainer(1, { name: "web", image: "nginx:1", composeProject: "shop" });
    expect(matches(c, "NGINX")).toBe(true);
    expect(matches(c, "shop")).toBe(true);
    expect(matches(c, "postgres")).toBe(false);
    expect(matches(c, "  ")).toBe(true);
  });
});
