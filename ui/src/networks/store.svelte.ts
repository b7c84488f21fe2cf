import { backend } from "../lib/backend";
import { ResourceStore } from "../lib/resource.svelte";
import type { NetworkSummary } from "../lib/generated";

export const BUILTIN_NETWORKS = ["bridge", "host", "none"];

export function createNetworksStore() {
  return new ResourceStore<NetworkSummary>(() => backend().listNetworks(), ["network", "container"]);
}

export const networks = createNetworksStore();
