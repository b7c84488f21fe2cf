import { backend } from "../lib/backend";
import { ResourceStore } from "../lib/resource.svelte";
import type { ImageSummary } from "../lib/generated";

export function createImagesStore() {
  // Containers change an image's "in use" count, so their events reload images too.
  return new ResourceStore<ImageSummary>(() => backend().listImages(), ["image", "container"]);
}

export const images = createImagesStore();
