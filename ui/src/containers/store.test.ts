import { describe, expect, it } from "vitest";
import { createContainersStore, createPortWarningsStore, groupByProject, matches, warningPort } from "./store.svelte";
import { mockContainer, mockPortWarning } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("containers store", () => {
  it("loads once, then follows engine events without polling", async () => {
    const b = await freshBackend({ containers: [mockContainer(1)] });
    const store = createContainersStore();
    store.start();
    store.start();
    await eventually(() => expect(store.items).toHaveLength(1));
    expect(b.calls.filter((c) => c === "listContainers")).toHaveLength(1);

    const c2 = mockContainer(2);
    b.data.containers.push(c2);
    b.emit("container", "create", c2.id);
    b.emit("container", "start", c2.id);
    await eventually(() => expect(store.items).toHaveLength(2));
    // Two events about one container cost one fetch of that container (debounced), and no
    // reload of the list.
    expect(b.calls.filter((c) => c === `getContainer:${c2.id}`)).toHaveLength(1);
    expect(b.calls.filter((c) => c === "listContainers")).toHaveLength(1);
  });

  it("changes only the row an event is about, and drops a destroyed one", async () => {
    const b = await freshBackend({ containers: [mockContainer(1), mockContainer(2)] });
    const store = createContainersStore();
    store.start();
    await eventually(() => expect(store.items).toHaveLength(2));
    const [first, second] = store.items;
    b.data.containers[1].state = "exited";
    b.emit("container", "die", b.data.containers[1].id);
    await eventually(() => expect(store.items[1].state).toBe("exited"));
    expect(store.items[0]).toBe(first);
    expect(store.items[1]).not.toBe(second);
    const gone = b.data.containers.pop()!;
    b.emit("container", "destroy", gone.id);
    await eventually(() => expect(store.items).toHaveLength(1));
    expect(b.calls.filter((c) => c === "listContainers")).toHaveLength(1);
  });

  it("reloads the whole list when the window missed events (resync)", async () => {
    const b = await freshBackend({ containers: [mockContainer(1)] });
    const store = createContainersStore();
    store.start();
    await eventually(() => expect(store.loaded).toBe(true));
    b.data.containers.push(mockContainer(2), mockContainer(3));
    b.resync(512);
    await eventually(() => expect(store.items).toHaveLength(3));
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

  it("loads the port warnings once, then follows the daemon's pushes without polling", async () => {
    const b = await freshBackend({ containers: [mockContainer(1), mockContainer(2)] });
    b.portWarningList = [mockPortWarning("c00000000001", 8080)];
    const store = createPortWarningsStore();
    store.start();
    store.start();
    await eventually(() => expect(store.list).toHaveLength(1));
    expect(b.calls.filter((c) => c === "portWarnings")).toHaveLength(1);
    expect(store.forContainer("c00000000001").map(warningPort)).toEqual(["8080"]);
    expect(store.forContainer("c00000000002")).toEqual([]);

    b.setPortWarnings([mockPortWarning("c00000000001", 8080), mockPortWarning("c00000000002", 53, { protocol: "udp" })]);
    await eventually(() => expect(store.forContainer("c00000000002").map(warningPort)).toEqual(["53/udp"]));
    b.setPortWarnings([]);
    await eventually(() => expect(store.list).toEqual([]));
    expect(b.calls.filter((c) => c === "portWarnings")).toHaveLength(1);
  });

  it("keeps a list pushed while the initial one loads (the push is newer)", async () => {
    const b = await freshBackend();
    b.portWarningList = [mockPortWarning("c00000000001", 8080)];
    const slow = b.portWarnings.bind(b);
    let release = () => {};
    b.portWarnings = async () => {
      const stale = await slow();
      await new Promise<void>((r) => (release = r));
      return stale;
    };
    const store = createPortWarningsStore();
    store.start();
    await eventually(() => expect(b.calls).toContain("portWarnings"));
    b.setPortWarnings([]);
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(store.list).toEqual([]);
  });

  it("matches a warning to its container by full or short id", async () => {
    const b = await freshBackend();
    const full = "3f1a9c0b7d2e".padEnd(64, "0");
    b.portWarningList = [mockPortWarning(full, 8080)];
    const store = createPortWarningsStore();
    store.start();
    await eventually(() => expect(store.forContainer(full)).toHaveLength(1));
    expect(store.forContainer(full.slice(0, 12))).toHaveLength(1);
    expect(store.forContainer("3f1")).toHaveLength(0);
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
