import { backend } from "../lib/backend";
import { ResourceStore } from "../lib/resource.svelte";
import type { ComposeContainer, ComposeProject } from "./types";

/** Every compose project on the engine; follows container events. */
export function createComposeStore() {
  return new ResourceStore<ComposeProject>(() => backend().listComposeProjects(), ["container"]);
}

/** One project's containers, stopped ones too; follows container events. */
export function createProjectStore(name: string) {
  return new ResourceStore<ComposeContainer>(() => backend().composeContainers(name), ["container"]);
}

export const composeProjects = createComposeStore();

/** The containers grouped by service, services in name order. */
export function byService(containers: ComposeContainer[]): { service: string; containers: ComposeContainer[] }[] {
  const groups = new Map<string, ComposeContainer[]>();
  for (const c of [...containers].sort((a, b) => a.Number - b.Number)) groups.set(c.Service, [...(groups.get(c.Service) ?? []), c]);
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([service, containers]) => ({ service, containers }));
}
