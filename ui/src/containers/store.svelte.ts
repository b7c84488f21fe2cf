import { backend } from "../lib/backend";
import { ResourceStore, type OneItem } from "../lib/resource.svelte";
import type { ContainerSummary, PortWarning } from "../lib/generated";

export const COMPOSE_PROJECT = "com.docker.compose.project";
/** Berth's own short-lived helpers (volume browsing, export, import): not the user's. */
export const BERTH_HELPER = "dev.berth.helper";

const isUsers = (c: ContainerSummary) => !(BERTH_HELPER in c.labels);

/** An event about one container changes that row alone: it is fetched by itself (one call),
 * not with the whole list. Network connect/disconnect name their container too. */
const oneContainer: OneItem<ContainerSummary> = {
  idOf: (e) => (e.kind === "container" ? e.id || null : e.attributes["container"] ?? null),
  fetch: async (id) => {
    const c = await backend().getContainer(id);
    return c && isUsers(c) ? c : null;
  },
  is: (c, id) => c.id === id || (id.length >= 12 && c.id.startsWith(id)),
};

export function createContainersStore() {
  return new ResourceStore<ContainerSummary>(
    async () => (await backend().listContainers()).filter(isUsers),
    ["container", "network"],
    60,
    oneContainer,
  );
}

export const containers = createContainersStore();

/** The ports Berth could not publish on the host, as the daemon pushes them when they change
 * (loaded once, then followed; no polling). Only Berth's own engine has any. */
export class PortWarningsStore {
  list = $state<PortWarning[]>([]);
  private started = false;

  /** Loads once and follows changes from then on; later calls are no-ops. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.follow();
  }

  private async follow() {
    // Subscribe before the initial load, so a change meanwhile is not lost; a pushed list is
    // newer than the loaded one.
    let pushed = false;
    await backend().onPortWarnings((list) => {
      pushed = true;
      this.list = list;
    });
    try {
      const list = await backend().portWarnings();
      if (!pushed) this.list = list;
    } catch {
      // No warnings to show: the table shows the containers as they are.
    }
  }

  /** The warnings on one container (by id, full or short). */
  forContainer(id: string): PortWarning[] {
    return this.list.filter((w) => w.container === id || (id.length >= 12 && w.container.startsWith(id)));
  }
}

export function createPortWarningsStore() {
  return new PortWarningsStore();
}

export const portWarnings = createPortWarningsStore();

/** A short label for a warning's port: `8080`, or `53/udp`. */
export function warningPort(w: PortWarning): string {
  return w.protocol === "tcp" ? `${w.hostPort}` : `${w.hostPort}/${w.protocol}`;
}

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
