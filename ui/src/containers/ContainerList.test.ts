import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import ContainerList from "./ContainerList.svelte";
import { createContainersStore, createPortWarningsStore } from "./store.svelte";
import { mockContainer, mockPortWarning } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("ContainerList", () => {
  it("shows rows grouped by compose project with port links", async () => {
    const b = await freshBackend({
      containers: [
        mockContainer(1, { name: "web", composeProject: "shop", ports: [{ ip: "0.0.0.0", privatePort: 80, publicPort: 8080, protocol: "tcp" }] }),
        mockContainer(2, { name: "solo", state: "exited", status: "Exited (0) 1 minute ago" }),
      ],
    });
    render(ContainerList, { store: createContainersStore() });
    await eventually(() => expect(screen.getAllByTestId("container-row")).toHaveLength(2));
    expect(screen.getByTestId("compose-group")).toHaveTextContent("shop");
    await fireEvent.click(screen.getByRole("button", { name: "8080:80" }));
    expect(b.calls).toContain("openUrl:http://localhost:8080");
  });

  it("stops a running container and follows the engine's event", async () => {
    const b = await freshBackend({ containers: [mockContainer(1, { name: "web" })] });
    render(ContainerList, { store: createContainersStore() });
    await eventually(() => screen.getByRole("button", { name: "Stop web" }));
    await fireEvent.click(screen.getByRole("button", { name: "Stop web" }));
    expect(b.calls).toContain("containerAction:stop:c00000000001");
    await eventually(() => expect(screen.getByTestId("container-row")).toHaveAttribute("data-state", "exited"));
    expect(screen.getByRole("button", { name: "Start web" })).toBeInTheDocument();
  });

  it("deletes the selection only after confirmation", async () => {
    const b = await freshBackend({ containers: [mockContainer(1, { name: "a" }), mockContainer(2, { name: "b" })] });
    render(ContainerList, { store: createContainersStore() });
    await eventually(() => screen.getByLabelText("Select a"));
    await fireEvent.click(screen.getByLabelText("Select a"));
    await fireEvent.click(screen.getByLabelText("Select b"));
    await fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    expect(b.calls.some((c) => c.startsWith("removeContainer"))).toBe(false);
    await fireEvent.click(screen.getByTestId("confirm"));
    await eventually(() => expect(screen.getByTestId("empty-state")).toBeInTheDocument());
  });

  it("filters by search and says when nothing matches", async () => {
    await freshBackend({ containers: [mockContainer(1, { name: "web" }), mockContainer(2, { name: "db" })] });
    render(ContainerList, { store: createContainersStore() });
    await eventually(() => expect(screen.getAllByTestId("container-row")).toHaveLength(2));
    await fireEvent.input(screen.getByLabelText("Search containers"), { target: { value: "we" } });
    expect(screen.getAllByTestId("container-row")).toHaveLength(1);
    await fireEvent.input(screen.getByLabelText("Search containers"), { target: { value: "zzz" } });
    expect(screen.getByText(/No container matches/)).toBeInTheDocument();
  });

  it("renders only a window of rows for 1,000 containers", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => mockContainer(i, { name: `c-${String(i).padStart(4, "0")}` }));
    await freshBackend({ containers: many });
    render(ContainerList, { store: createContainersStore() });
    await eventually(() => expect(screen.getByText("1000 running · 1000 total")).toBeInTheDocument());
    const rows = screen.getAllByTestId("container-row");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(60);
    expect(within(rows[0]).getByText("c-0000")).toBeInTheDocument();
  });

  it("shows live CPU and memory for running rows and a dash for stopped ones", async () => {
    const b = await freshBackend({
      containers: [mockContainer(1, { name: "web" }), mockContainer(2, { name: "idle", state: "exited", status: "Exited (0)" })],
    });
    render(ContainerList, { store: createContainersStore() });
    const row = (name: string) => screen.getAllByTestId("container-row").find((r) => r.dataset.name === name)!;
    await eventually(() => expect(within(row("web")).getByTestId("row-cpu")).toHaveTextContent("1.5%"));
    expect(within(row("web")).getByTestId("row-mem")).toHaveTextContent("10.5 MB");
    expect(within(row("idle")).getByTestId("row-cpu")).toHaveTextContent("—");
    expect(within(row("idle")).getByTestId("row-mem")).toHaveTextContent("—");
    expect(b.calls).not.toContain("streamStats:c00000000002");
    // Live: a new sample updates the row, no reload.
    b.emitStats("c00000000001", 42.4, 300_000_000);
    await eventually(() => expect(within(row("web")).getByTestId("row-cpu")).toHaveTextContent("42%"));
    expect(within(row("web")).getByTestId("row-mem")).toHaveTextContent("300 MB");
    // Stopping it shows the dash and, after the settle, closes its stream.
    await fireEvent.click(screen.getByRole("button", { name: "Stop web" }));
    await eventually(() => expect(within(row("web")).getByTestId("row-cpu")).toHaveTextContent("—"));
    await eventually(() => expect(b.statsListeners.size).toBe(0));
    // One feed carried every row's samples.
    expect(b.calls.filter((c) => c === "openStatsFeed")).toHaveLength(1);
  });

  it("streams stats only for rendered rows and closes them when they scroll away", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => mockContainer(i, { name: `c-${String(i).padStart(4, "0")}` }));
    const b = await freshBackend({ containers: many });
    render(ContainerList, { store: createContainersStore() });
    await eventually(() => expect(screen.getAllByTestId("container-row").length).toBeGreaterThan(0));
    const rendered = () => screen.getAllByTestId("container-row").map((r) => many.find((c) => c.name === r.dataset.name)!.id);
    await eventually(() => expect([...b.statsListeners.keys()].sort()).toEqual(rendered().sort()));
    expect(b.statsListeners.size).toBeLessThan(60);
    const first = rendered();
    const viewport = screen.getByRole("rowgroup");
    viewport.scrollTop = 44 * 500;
    await fireEvent.scroll(viewport);
    await eventually(() => expect(screen.getAllByTestId("container-row")[0].dataset.name).not.toBe("c-0000"));
    await eventually(() => expect([...b.statsListeners.keys()].sort()).toEqual(rendered().sort()));
    for (const id of first) expect(b.statsListeners.has(id)).toBe(false);
    expect(b.statsListeners.size).toBeLessThan(60);
  });

  it("shows a taken host port as a warning badge on its container's row, live", async () => {
    const b = await freshBackend({
      containers: [
        mockContainer(1, { name: "web", ports: [{ ip: "0.0.0.0", privatePort: 80, publicPort: 8080, protocol: "tcp" }] }),
        mockContainer(2, { name: "db" }),
      ],
    });
    b.portWarningList = [mockPortWarning("c00000000001", 8080)];
    render(ContainerList, { store: createContainersStore(), warnings: createPortWarningsStore() });
    const row = (name: string) => screen.getAllByTestId("container-row").find((r) => r.dataset.name === name)!;
    await eventually(() => expect(within(row("web")).getByTestId("port-warning")).toHaveTextContent("⚠ 8080:80"));
    const badge = within(row("web")).getByTestId("port-warning");
    // The taken port is no link: it would open whatever holds the port.
    expect(within(row("web")).queryByRole("button", { name: "8080:80" })).toBeNull();
    expect(badge).toHaveAttribute("title", expect.stringContaining("port 127.0.0.1:8080 is already in use"));
    expect(badge).toHaveAccessibleName(expect.stringContaining("Port 8080 not published"));
    expect(within(row("db")).queryByTestId("port-warning")).toBeNull();

    // The daemon pushes a new list: a second container's UDP port, then none.
    b.setPortWarnings([mockPortWarning("c00000000001", 8080), mockPortWarning("c00000000002", 5353, { protocol: "udp" })]);
    // A port the engine does not list (db publishes none) still shows, on its own.
    await eventually(() => expect(within(row("db")).getByTestId("port-warning")).toHaveTextContent("⚠ 5353/udp"));
    b.setPortWarnings([]);
    await eventually(() => expect(screen.queryAllByTestId("port-warning")).toHaveLength(0));
    expect(within(row("web")).getByRole("button", { name: "8080:80" })).toBeInTheDocument();
    expect(b.calls.filter((c) => c === "portWarnings")).toHaveLength(1);
  });

  it("points to the Images page when there are no containers", async () => {
    await freshBackend();
    render(ContainerList, { store: createContainersStore() });
    await eventually(() => expect(screen.getByTestId("empty-state")).toHaveTextContent("No containers yet"));
  });
});
