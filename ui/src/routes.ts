// The one route table: every page of the dashboard and the sidebar entry that leads to it.
import type { Component } from "svelte";
import ContainerList from "./containers/ContainerList.svelte";
import ContainerDetails from "./containers/ContainerDetails.svelte";
import ImageList from "./images/ImageList.svelte";
import VolumeList from "./volumes/VolumeList.svelte";
import NetworkList from "./networks/NetworkList.svelte";
import EnginePage from "./engine/EnginePage.svelte";
import ComposeList from "./compose/ComposeList.svelte";
import ComposeProjectView from "./compose/ComposeProjectView.svelte";
import HubPage from "./hub/HubPage.svelte";
import RegistriesPage from "./hub/RegistriesPage.svelte";
import SettingsPage from "./settings/SettingsPage.svelte";
import TroubleshootPage from "./troubleshoot/TroubleshootPage.svelte";

export interface Route {
  pattern: RegExp;
  section: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  component: Component<any>;
  params?: (m: RegExpMatchArray) => Record<string, string>;
}

export const sections = [
  { path: "/containers", label: "Containers", icon: "▣" },
  { path: "/images", label: "Images", icon: "◫" },
  { path: "/volumes", label: "Volumes", icon: "⛁" },
  { path: "/networks", label: "Networks", icon: "⋈" },
  { path: "/compose", label: "Compose", icon: "❏" },
  { path: "/hub", label: "Hub", icon: "☁" },
  { path: "/engine", label: "Engine", icon: "⚙" },
  { path: "/settings", label: "Settings", icon: "☰" },
  { path: "/troubleshoot", label: "Troubleshoot", icon: "✚" },
];

export const routes: Route[] = [
  { pattern: /^\/containers\/?$/, section: "/containers", component: ContainerList },
  { pattern: /^\/containers\/([^/]+)(?:\/(\w+))?$/, section: "/containers", component: ContainerDetails,
    params: (m) => ({ id: m[1], tab: m[2] ?? "logs" }) },
  { pattern: /^\/images\/?$/, section: "/images", component: ImageList },
  { pattern: /^\/volumes\/?$/, section: "/volumes", component: VolumeList },
  { pattern: /^\/networks\/?$/, section: "/networks", component: NetworkList },
  { pattern: /^\/compose\/?$/, section: "/compose", component: ComposeList },
  { pattern: /^\/compose\/([^/]+)$/, section: "/compose", component: ComposeProjectView, params: (m) => ({ name: m[1] }) },
  { pattern: /^\/hub\/?$/, section: "/hub", component: HubPage },
  { pattern: /^\/hub\/registries\/?$/, section: "/hub", component: RegistriesPage },
  { pattern: /^\/engine\/?$/, section: "/engine", component: EnginePage },
  { pattern: /^\/settings\/?$/, section: "/settings", component: SettingsPage },
  { pattern: /^\/troubleshoot\/?$/, section: "/troubleshoot", component: TroubleshootPage },
];

export function resolve(path: string): { route: Route; params: Record<string, string> } {
  for (const route of routes) {
    const m = path.match(route.pattern);
    if (m) return { route, params: route.params?.(m) ?? {} };
  }
  return { route: routes[0], params: {} };
}
