import { backend } from "../lib/backend";
import { ResourceStore } from "../lib/resource.svelte";
import type { VolumeSummary } from "../lib/generated";

export function createVolumesStore() {
  return new ResourceStore<VolumeSummary>(() => backend().listVolumes(), ["volume", "container"]);
}

export const volumes = createVolumesStore();
