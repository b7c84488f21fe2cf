import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
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

  it("exports a volume and imports the file into a new volume", async () => {
    const b = await freshBackend({ volumes: [mockVolume("data", { size: 2048 })] });
    render(VolumeList, { store: createVolumesStore() });
    await eventually(() => screen.getByTestId("volume-export"));
    await fireEvent.click(screen.getByTestId("volume-export"));
    expect(screen.getByTestId("export-path")).toHaveValue("~/data.tar.gz");
    await fireEvent.click(screen.getByTestId("export-submit"));
    await eventually(() => expect(screen.getByTestId("export-status")).toHaveTextContent("Exported data to ~/data.tar.gz (2.0 KB"));
    expect(b.calls).toContain("exportVolume:data:~/data.tar.gz");
    await fireEvent.click(within(screen.getByRole("dialog")).getAllByRole("button", { name: "Close" })[1]);
    expect(screen.queryByRole("dialog")).toBeNull();

    await fireEvent.click(screen.getByTestId("volume-import-open"));
    await fireEvent.input(screen.getByTestId("import-path"), { target: { value: "~/data.tar.gz" } });
    await fireEvent.input(screen.getByTestId("import-name"), { target: { value: "restored" } });
    await fireEvent.click(screen.getByTestId("import-submit"));
    await eventually(() => expect(screen.getByTestId("import-status")).toHaveTextContent("Imported ~/data.tar.gz into restored"));
    await eventually(() => expect(screen.getAllByTestId("volume-row").map((r) => r.dataset.name)).toEqual(["data", "restored"]));
    expect(b.data.volumes.find((v) => v.name === "restored")?.size).toBe(2048);
  });

  it("refuses to import into a volume with files and names a volume from the file", async () => {
    const b = await freshBackend({ volumes: [mockVolume("data", { size: 2048 })] });
    b.archives["~/backup/data.tar.gz"] = { volume: "old", size: 10 };
    render(VolumeList, { store: createVolumesStore() });
    await eventually(() => screen.getByTestId("volume-row"));
    await fireEvent.click(screen.getByTestId("volume-import-open"));
    await fireEvent.input(screen.getByTestId("import-path"), { target: { value: "~/backup/data.tar.gz" } });
    expect(screen.getByTestId("import-name")).toHaveValue("data");
    await fireEvent.click(screen.getByTestId("import-submit"));
    await eventually(() => expect(screen.getByRole("alert")).toHaveTextContent("volume data is not empty"));
    await fireEvent.input(screen.getByTestId("import-name"), { target: { value: "bad name" } });
    await fireEvent.click(screen.getByTestId("import-submit"));
    expect(screen.getByRole("alert")).toHaveTextContent("Name the volume");
    expect(b.calls.filter((c) => c.startsWith("importVolume"))).toHaveLength(1);
  });

  it("fills paths from the native file dialog, and keeps them when it is cancelled", async () => {
    const b = await freshBackend({ volumes: [mockVolume("data", { size: 2048 })] });
    render(VolumeList, { store: createVolumesStore() });
    await eventually(() => screen.getByTestId("volume-export"));
    await fireEvent.click(screen.getByTestId("volume-export"));
    b.pickedPath = "/home/u/backups/data-1.tar.gz";
    await fireEvent.click(screen.getByTestId("export-browse"));
    await eventually(() => expect(screen.getByTestId("export-path")).toHaveValue("/home/u/backups/data-1.tar.gz"));
    expect(b.calls).toContain("pickArchive:save:data.tar.gz");
    b.pickedPath = null;
    await fireEvent.click(screen.getByTestId("export-browse"));
    await eventually(() => expect(b.calls.filter((c) => c.startsWith("pickArchive"))).toHaveLength(2));
    expect(screen.getByTestId("export-path")).toHaveValue("/home/u/backups/data-1.tar.gz");
    await fireEvent.click(screen.getByTestId("export-submit"));
    await eventually(() => expect(b.calls).toContain("exportVolume:data:/home/u/backups/data-1.tar.gz"));
    await fireEvent.click(within(screen.getByRole("dialog")).getAllByRole("button", { name: "Close" })[1]);

    b.pickedPath = "/home/u/backups/data-1.tar.gz";
    await fireEvent.click(screen.getByTestId("volume-import-open"));
    await fireEvent.click(screen.getByTestId("import-browse"));
    await eventually(() => expect(screen.getByTestId("import-path")).toHaveValue("/home/u/backups/data-1.tar.gz"));
    expect(screen.getByTestId("import-name")).toHaveValue("data-1");
    expect(b.calls).toContain("pickArchive:open:");
  });
});
