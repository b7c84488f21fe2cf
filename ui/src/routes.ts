// The one route table: every page of the dashboard and the sidebar entry that leads to it.
import type { Component } from "svelte";
import ContainerList from "./containers/ContainerList.svelte";
import type { Key } from "./lib/i18n";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Page = Component<any>;

export interface Route {
  pattern: RegExp;
  section: string;
  // The page, loaded the first time it is shown: each page but the first one a user sees is its
  // own chunk, so an idle dashboard parses and holds only the containers list.
  page: () => Promise<Page>;
  params?: (m: RegExpMatchArray) => Record<string, string>;
}

// One promise per page, kept: showing a page again (or with new params) never reloads it. A
// page that failed to load is tried again the next time it is shown.
export function lazy(load: () => Promise<{ default: Page }>): () => Promise<Page> {
  let loaded: Promise<Page> | undefined;
  return () =>
    (loaded ??= load().then(
      (m) => m.default,
      (e) => {
        loaded = undefined;
        throw e;
      },
    ));
}

const eager = (page: Page) => () => Promise.resolve(page);

// `id` names the sidebar link for tests (`nav-containers`); `label` is its text's key.
export const sections = [
  { path: "/containers", id: "containers", label: "app.navContainers", icon: "▣" },
  { path: "/images", id: "images", label: "app.navImages", icon: "◫" },
  { path: "/volumes", id: "volumes", label: "app.navVolumes", icon: "⛁" },
  { path: "/networks", id: "networks", label: "app.navNetworks", icon: "⋈" },
  { path: "/compose", id: "compose", label: "app.navCompose", icon: "❏" },
  { path: "/hub", id: "hub", label: "app.navHub", icon: "☁" },
  { path: "/learn", id: "learn", label: "app.navLearn", icon: "✎" },
  { path: "/swarm", id: "swarm", label: "app.navSwarm", icon: "⬡" },
  { path: "/engines", id: "engines", label: "app.navEngines", icon: "⇄" },
  { path: "/engine", id: "engine", label: "app.navEngine", icon: "⚙" },
  { path: "/settings", id: "settings", label: "app.navSettings", icon: "☰" },
  { path: "/troubleshoot", id: "troubleshoot", label: "app.navTroubleshoot", icon: "✚" },
] as const satisfies readonly { path: string; id: string; label: Key; icon: string }[];

export const routes: Route[] = [
  { pattern: /^\/containers\/?$/, section: "/containers", page: eager(ContainerList) },
  { pattern: /^\/containers\/([^/]+)(?:\/(\w+))?$/, section: "/containers", page: lazy(() => import("./containers/ContainerDetails.svelte")),
    params: (m) => ({ id: m[1], tab: m[2] ?? "logs" }) },
  { pattern: /^\/images\/?$/, section: "/images", page: lazy(() => import("./images/ImageList.svelte")) },
  { pattern: /^\/volumes\/?$/, section: "/volumes", page: lazy(() => import("./volumes/VolumeList.svelte")) },
  { pattern: /^\/networks\/?$/, section: "/networks", page: lazy(() => import("./networks/NetworkList.svelte")) },
  { pattern: /^\/compose\/?$/, section: "/compose", page: lazy(() => import("./compose/ComposeList.svelte")) },
  { pattern: /^\/compose\/([^/]+)$/, section: "/compose", page: lazy(() => import("./compose/ComposeProjectView.svelte")), params: (m) => ({ name: m[1] }) },
  { pattern: /^\/hub\/?$/, section: "/hub", page: lazy(() => import("./hub/HubPage.svelte")) },
  { pattern: /^\/hub\/registries\/?$/, section: "/hub", page: lazy(() => import("./hub/RegistriesPage.svelte")) },
  { pattern: /^\/learn\/?$/, section: "/learn", page: lazy(() => import("./learn/LearnPage.svelte")) },
  { pattern: /^\/swarm\/?$/, section: "/swarm", page: lazy(() => import("./swarm/SwarmPage.svelte")) },
  { pattern: /^\/engines\/?$/, section: "/engines", page: lazy(() => import("./engines/EnginesPage.svelte")) },
  { pattern: /^\/engine\/?$/, section: "/engine", page: lazy(() => import("./engine/EnginePage.svelte")) },
  { pattern: /^\/settings\/?$/, section: "/settings", page: lazy(() => import("./settings/SettingsPage.svelte")) },
  { pattern: /^\/troubleshoot\/?$/, section: "/troubleshoot", page: lazy(() => import("./troubleshoot/TroubleshootPage.svelte")) },
];

export function resolve(path: string): { route: Route; params: Record<string, string> } {
  for (const route of routes) {
    const m = path.match(route.pattern);
    if (m) return { route, params: route.params?.(m) ?? {} };
  }
  return { route: routes[0], params: {} };
}
