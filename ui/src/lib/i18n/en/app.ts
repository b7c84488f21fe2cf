// The window around the pages: the sidebar and the engine banner.
export const app = {
  sections: "Sections",
  navContainers: "Containers",
  navImages: "Images",
  navVolumes: "Volumes",
  navNetworks: "Networks",
  navCompose: "Compose",
  navHub: "Hub",
  navLearn: "Learn",
  navSwarm: "Swarm",
  navEngines: "Engines",
  navEngine: "Engine",
  navSettings: "Settings",
  navTroubleshoot: "Troubleshoot",
  startEngine: "Start engine",
  pageDidNotLoad: "This page did not load: {error}. Open another section and come back to try again.",
  windowFailed: "Berth's window failed to start:",
} as const;
