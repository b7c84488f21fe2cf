import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import NetworkList from "./NetworkList.svelte";
import { createNetworksStore } from "./store.svelte";
import { containers } from "../containers/store.svelte";
import { mockContainer } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("NetworkList", () => {
  it("lists built-ins first, creates a bridge and connects a container", async () => {
    const b = await freshBackend({ containers: [mockContainer(1, { name: "web" })] });
    render(NetworkList, { store: createNetworksStore() });
    await containers.load();
    await eventually(() => expect(screen.getAllByTestId("network-row")).toHaveLength(3));
    expect(screen.getAllByText("built-in")).toHaveLength(3);
    await fireEvent.click(screen.getByTestId("network-create-open"));
    await fireEvent.input(screen.getByLabelText("Name"), { target: { value: "bridge" } });
    await fireEvent.click(screen.getByTestId("network-create"));
    expect(screen.getByText(/exists already/)).toBeInTheDocument();
    await fireEvent.input(screen.getByLabelText("Name"), { target: { value: "backend" } });
    await fireEvent.click(screen.getByTestId("network-create"));
    await eventually(() => expect(screen.getAllByTestId("network-row")).toHaveLength(4));

    await fireEvent.click(screen.getByRole("button", { name: "backend" }));
    await fireEvent.change(screen.getByTestId("network-connect-select"), { target: { value: "web" } });
    await fireEvent.click(screen.getByTestId("network-connect"));
    await eventually(() => expect(screen.getByTestId("network-member")).toHaveTextContent("web"));
    expect(b.calls).toContain("connectNetwork:net-backend:web");
  });
});
