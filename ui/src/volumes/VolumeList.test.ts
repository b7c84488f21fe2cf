import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import VolumeList from "./VolumeList.svelte";
import { createVolumesStore } from "./store.svelte";
import { mockVolume } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("VolumeList", () => {
  it("creates, browses and deletes a volume", async () => {
    const b = await freshBackend();
    render(VolumeList, { store: createVolumesStore() });
    await eventually(() => screen.getByTestId("empty-state"));
    await fireEvent.click(screen.getByTestId("volume-create-open"));
    await fireEvent.input(screen.getByLabelText("Name"), { target: { value: "data" } });
    await fireEvent.click(screen.getByTestId("volume-create"));
    await eventually(() => screen.getByTestId("volume-row"));
    await fireEvent.click(screen.getByTestId("volume-browse"));
    await eventually(() => expect(screen.getByTestId("files")).toHaveTextContent("data.txt"));
    expect(b.calls).toContain("listVolumeFiles:data:/");
    await fireEvent.click(screen.getByTestId("volume-delete"));
    await fireEvent.click(screen.getByTestId("confirm"));
    await eventually(() => expect(screen.queryByTestId("volume-row")).toBeNull());
  });

  it("refuses bad names and protects volumes in use", async () => {
    await freshBackend({ volumes: [mockVolume("used", { containers: ["web"] })] });
    render(VolumeList, { store: createVolumesStore() });
    await eventually(() => screen.getByTestId("volume-row"));
    expect(screen.getByTestId("volume-delete")).toBeDisabled();
    await fireEvent.click(screen.getByTestId("volume-create-open"));
    await fireEvent.input(screen.getByLabelText("Name"), { target: { value: "bad name" } });
    await fireEvent.click(screen.getByTestId("volume-create"));
    expect(screen.getByText(/Use at least two letters/)).toBeInTheDocument();
  });
});
