import { backend } from "../lib/backend";
import { ResourceStore } from "../lib/resource.svelte";
import type { SwarmOverview } from "../lib/generated";

/** The swarm at a glance, as a one-item list, reloaded on the engine's swarm and container
 * events (task containers come and go as services scale and update). */
export function createSwarmStore() {
  return new ResourceStore<SwarmOverview>(
    async () => [await backend().swarmOverview()],
    ["service", "node", "container", "network", "secret", "config"],
  );
}

export const swarm = createSwarmStore();
