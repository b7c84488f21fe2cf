import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import ImageList from "./ImageList.svelte";
import { createImagesStore } from "./store.svelte";
import { mockImage } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("ImageList", () => {
  it("lists images with size and use", async () => {
    await freshBackend({ images: [mockImage("sha256:aaa", "nginx:1", { containers: 1 }), mockImage("sha256:bbb", null)] });
    render(ImageList, { store: createImagesStore() });
    await eventually(() => expect(screen.getAllByTestId("image-row")).toHaveLength(2));
    expect(screen.getByText("In use")).toBeInTheDocument();
    expect(screen.getByText("<none> bbb")).toBeInTheDocument();
  });

  it("pulls with per-layer progress and shows the new image", async () => {
    const b = await freshBackend();
    render(ImageList, { store: createImagesStore() });
    await eventually(() => screen.getByTestId("empty-state"));
    await fireEvent.click(screen.getByTestId("pull-open"));
    await fireEvent.input(screen.getByLabelText("Image reference"), { target: { value: "alpine:3" } });
    await fireEvent.click(screen.getByTestId("pull-submit"));
    await eventually(() => expect(screen.getByTestId("pull-status")).toHaveTextContent("Pulled alpine:3"));
    expect(screen.getByTestId("pull-layers")).toHaveTextContent("layer1");
    expect(b.calls).toContain("pullImage:alpine:3");
    await eventually(() => expect(screen.getAllByTestId("image-row")).toHaveLength(1));
  });

  it("runs an image only once the form validates", async () => {
    const b = await freshBackend({ images: [mockImage("sha256:aaa", "nginx:1")] });
    render(ImageList, { store: createImagesStore() });
    await eventually(() => screen.getByTestId("run-open"));
    await fireEvent.click(screen.getByTestId("run-open"));
    await fireEvent.input(screen.getByLabelText("Ports (host:container)"), { target: { value: "nope" } });
    await fireEvent.click(screen.getByTestId("run-submit"));
    expect(screen.getByText(/is not HOST:CONTAINER/)).toBeInTheDocument();
    expect(b.calls.some((c) => c.startsWith("runContainer"))).toBe(false);
    await fireEvent.input(screen.getByLabelText("Ports (host:container)"), { target: { value: "8080:80" } });
    await fireEvent.click(screen.getByTestId("run-submit"));
    await eventually(() => expect(b.calls).toContain("runContainer:nginx:1"));
    expect(b.data.containers[0].ports[0]).toMatchObject({ publicPort: 8080, privatePort: 80 });
  });

  it("pushes a chosen tag with per-layer progress", async () => {
    const b = await freshBackend({ images: [mockImage("sha256:aaa", "localhost:5000/app:1", { repoTags: ["localhost:5000/app:1", "localhost:5000/app:latest"] })] });
    render(ImageList, { store: createImagesStore() });
    await eventually(() => screen.getByTestId("push-open"));
    await fireEvent.click(screen.getByTestId("push-open"));
    await fireEvent.change(screen.getByTestId("push-tag"), { target: { value: "localhost:5000/app:latest" } });
    await fireEvent.click(screen.getByTestId("push-submit"));
    await eventually(() => expect(screen.getByTestId("push-status")).toHaveTextContent("Pushed localhost:5000/app:latest (sha256:abc)"));
    expect(b.pushed).toEqual(["localhost:5000/app:latest"]);
    const layers = screen.getAllByTestId("layer");
    expect(layers.map((l) => [l.dataset.layer, l.dataset.status])).toEqual([["layer1", "Pushed"], ["layer2", "Layer already exists"]]);
    expect(screen.getByRole("progressbar", { name: "Layer layer1" })).toHaveAttribute("aria-valuenow", "100");
  });

  it("cannot push an untagged image and says how to fix it", async () => {
    await freshBackend({ images: [mockImage("sha256:bbb", null)] });
    render(ImageList, { store: createImagesStore() });
    await eventually(() => screen.getByTestId("push-open"));
    expect(screen.getByTestId("push-open")).toBeDisabled();
  });

  it("shows an image's layers and pushes from its details", async () => {
    const b = await freshBackend({ images: [mockImage("sha256:aaa", "localhost:5000/app:1")] });
    render(ImageList, { store: createImagesStore() });
    await eventually(() => screen.getByTestId("image-details-open"));
    await fireEvent.click(screen.getByTestId("image-details-open"));
    await eventually(() => expect(screen.getAllByTestId("history-row")).toHaveLength(2));
    expect(b.calls).toContain("imageHistory:sha256:aaa");
    const rows = screen.getAllByTestId("history-row");
    expect(rows[0]).toHaveTextContent('CMD ["sh"]');
    expect(rows[1]).toHaveTextContent("ADD file:abc in /");
    expect(rows[1]).toHaveTextContent("4.0 MB");
    await fireEvent.click(screen.getByTestId("details-push"));
    await fireEvent.click(screen.getByTestId("push-submit"));
    await eventually(() => expect(screen.getByTestId("push-status")).toHaveTextContent("Pushed localhost:5000/app:1"));
  });

  it("prunes and reports the space freed", async () => {
    await freshBackend({ images: [mockImage("sha256:aaa", null, { size: 2_000_000 })] });
    render(ImageList, { store: createImagesStore() });
    await eventually(() => screen.getByTestId("image-row"));
    await fireEvent.click(screen.getByRole("button", { name: "Prune…" }));
    await fireEvent.click(screen.getByRole("button", { name: "Prune" }));
    await eventually(() => expect(screen.getByRole("status")).toHaveTextContent("Removed 1 image, freed 2.0 MB."));
  });
});
