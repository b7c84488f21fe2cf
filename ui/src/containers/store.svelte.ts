import { backend } from "../lib/backend";
import { ResourceStore } from "../lib/resource.svelte";
import type { ContainerSummary } from "../lib/generated";

export const COMPOSE_PROJECT = "com.docker.compose.project";
/** Berth's own short-lived helpers (volume browsing, export, import): not the user's. */
export const BERTH_HELPER = "dev.berth.helper";

export function createContainersStore() {
  // Network events too: connect/disconnect change a container's networks.
  return new ResourceStore<ContainerSummary>(
    async () => (await backend().listContainers()).filter((c) => !(BERTH_HELPER in c.labels)),
    ["container", "network"],
  );
}

export const containers = createContainersStore();

export interface ContainerGroup {
  project: string | null;
  items: ContainerSummary[];
}

/** Compose projects first (by name), then standalone containers; names sorted inside. */
export function groupByProject(list: ContainerSummary[]): ContainerGroup[] {
  const groups = new Map<string | null, ContainerSummary[]>();
  for (const c of list) {
    const p = c.composeProject ?? c.labels[COMPOSE_PROJECT] ?? null;
    let g = groups.get(p);
    if (!g) groups.set(p, (g = []));
    g.push(c);
  }
  const keys = [...groups.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)));
  return keys.map((project) => ({
    project,
    items: groups.get(project)!.sort((a, b) => a.name.localeCompare(b.name)),
  }));
}

export function matches(c: ContainerSummary, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [c.name, c.image, c.id, c.state, c.composeProject ?? ""].some((f) => f.toLowerCase().includes(q));
}
