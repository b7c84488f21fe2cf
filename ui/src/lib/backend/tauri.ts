// The real backend: one `invoke` per Tauri command, long streams over `Channel`s.
// Stream commands return a subscription id; `stop_stream` ends it on the Rust side.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { Backend, ContainerAction, ExecSession, RemoteEngineForm, StatsFeed, Unsubscribe } from "./types";
import type {
  StatsSample, ContainerSummary, LogOptions, DiskUsage, EventFeedItem, EngineInfo, EngineState, FileEntry,
  ImageSummary, LogLine, NetworkSummary, PruneReport, PullProgress, RunSpec, VolumeSummary,
  ImageHistoryEntry, VolumeArchive, SettingsView, SettingsSaved, SettingsFieldError, LogSource, LogTail,
  CleanUpSummary, DiagnosticsBundle, FactoryResetDone, PortWarning, LearnLesson, LearnStep, LearnReport, LearnLeft,
  EngineEntry, SwarmOverview, TaskSummary, AutoscaleRule, AutoscaleDecision, SwarmObject, SwarmObjectKind, JoinTokens,
} from "../generated";
import type {
  ComposeContainer, ComposeEvent, ComposePreview, ComposeProject, ProjectAction, ProjectLogLine,
} from "../../compose/types";
import type {
  Account, DockerConfigChoice, HubRepository, HubSearchResult, SignInOutcome, SignInSession, SignInStarted,
} from "../../hub/types";

async function stream<T>(command: string, args: Record<string, unknown>, cb: (m: T) => void): Promise<Unsubscribe> {
  const channel = new Channel<T>();
  channel.onmessage = cb;
  const streamId = await invoke<number>(command, { ...args, channel });
  return () => {
    channel.onmessage = () => {};
    void invoke("stop_stream", { streamId });
  };
}

export class TauriBackend implements Backend {
  engineState() { return invoke<EngineState>("engine_state"); }
  onEngineState(cb: (s: EngineState) => void) { return stream("subscribe_engine_state", {}, cb); }
  engineInfo() { return invoke<EngineInfo>("engine_info"); }
  diskUsage() { return invoke<DiskUsage>("disk_usage"); }
  startEngine() { return invoke<void>("start_engine"); }
  stopEngine() { return invoke<void>("stop_engine"); }
  restartEngine() { return invoke<void>("restart_engine"); }
  pauseEngine() { return invoke<void>("pause_engine"); }
  wakeEngine() { return invoke<void>("wake_engine"); }
  onQuitRequested(cb: () => void) { return listen("berth://quit-requested", () => cb()); }
  quitApp(stopEngine: boolean, remember: boolean) { return invoke<void>("quit_app", { stopEngine, remember }); }
  onEngineEvent(cb: (item: EventFeedItem) => void) { return stream("subscribe_events", {}, cb); }

  listContainers() { return invoke<ContainerSummary[]>("list_containers"); }
  getContainer(id: string) { return invoke<ContainerSummary | null>("get_container", { id }); }
  containerAction(id: string, action: ContainerAction) { return invoke<void>("container_action", { id, action }); }
  removeContainer(id: string, force: boolean) { return invoke<void>("remove_container", { id, force }); }
  inspectContainer(id: string) { return invoke<unknown>("inspect_container", { id }); }
  streamLogs(id: string, opts: LogOptions, cb: (l: LogLine) => void) { return stream("stream_logs", { id, opts }, cb); }
  streamStats(id: string, cb: (s: StatsSample) => void) { return stream("stream_stats", { id }, cb); }
  async openStatsFeed(cb: (batch: StatsSample[]) => void): Promise<StatsFeed> {
    const channel = new Channel<StatsSample[]>();
    channel.onmessage = cb;
    const feed = await invoke<number>("open_stats_feed", { channel });
    return {
      watch: (ids) => invoke<void>("watch_stats", { feed, ids }),
      close: () => {
        channel.onmessage = () => {};
        void invoke("stop_stream", { streamId: feed });
      },
    };
  }
  async exec(id: string, cmd: string[], cols: number, rows: number, onOutput: (d: Uint8Array | string) => void): Promise<ExecSession> {
    // Output arrives as raw bytes (an ArrayBuffer), so multi-byte characters split across
    // chunks reach xterm.js intact.
    const channel = new Channel<ArrayBuffer>();
    channel.onmessage = (buf) => onOutput(new Uint8Array(buf));
    const sessionId = await invoke<number>("exec_start", { id, cmd, cols, rows, channel });
    // Keystrokes must reach the shell in order: one write in flight at a time, and whatever
    // is typed meanwhile goes in the next one.
    let pending = "";
    let inflight: Promise<void> | null = null;
    const flush = async () => {
      try {
        while (pending) {
          const data = pending;
          pending = "";
          await invoke<void>("exec_write", { sessionId, data });
        }
      } finally {
        inflight = null;
      }
    };
    return {
      write: (data: string) => {
        pending += data;
        inflight ??= flush();
        return inflight;
      },
      resize: (c: number, r: number) => invoke<void>("exec_resize", { sessionId, cols: c, rows: r }),
      close: () => void invoke("stop_stream", { streamId: sessionId }),
    };
  }
  listContainerFiles(id: string, path: string) { return invoke<FileEntry[]>("list_container_files", { id, path }); }
  pruneContainers() { return invoke<PruneReport>("prune_containers"); }
  portWarnings() { return invoke<PortWarning[]>("port_warnings"); }
  onPortWarnings(cb: (list: PortWarning[]) => void) { return stream("subscribe_port_warnings", {}, cb); }

  listImages() { return invoke<ImageSummary[]>("list_images"); }
  async pullImage(reference: string, cb: (p: PullProgress) => void) {
    const channel = new Channel<PullProgress>();
    channel.onmessage = cb;
    await invoke<void>("pull_image", { reference, channel });
  }
  removeImage(id: string, force: boolean) { return invoke<void>("remove_image", { id, force }); }
  pruneImages(all: boolean) { return invoke<PruneReport>("prune_images", { all }); }
  tagImage(id: string, repo: string, tag: string) { return invoke<void>("tag_image", { id, repo, tag }); }
  runContainer(spec: RunSpec) { return invoke<string>("run_container", { spec }); }
  async pushImage(reference: string, cb: (p: PullProgress) => void) {
    const channel = new Channel<PullProgress>();
    channel.onmessage = cb;
    await invoke<void>("push_image", { reference, channel });
  }
  imageHistory(id: string) { return invoke<ImageHistoryEntry[]>("image_history", { id }); }

  listVolumes() { return invoke<VolumeSummary[]>("list_volumes"); }
  createVolume(name: string) { return invoke<unknown>("create_volume", { name }); }
  removeVolume(name: string) { return invoke<void>("remove_volume", { name }); }
  pruneVolumes() { return invoke<PruneReport>("prune_volumes"); }
  listVolumeFiles(name: string, path: string) { return invoke<FileEntry[]>("list_volume_files", { name, path }); }
  exportVolume(name: string, path: string) { return invoke<VolumeArchive>("export_volume", { name, path }); }
  importVolume(name: string, path: string) { return invoke<VolumeArchive>("import_volume", { name, path }); }
  pickArchive(save: boolean, fileName: string | null) { return invoke<string | null>("pick_archive", { save, fileName }); }

  listNetworks() { return invoke<NetworkSummary[]>("list_networks"); }
  inspectNetwork(id: string) { return invoke<NetworkSummary>("inspect_network", { id }); }
  createNetwork(name: string) { return invoke<unknown>("create_network", { name }); }
  removeNetwork(id: string) { return invoke<void>("remove_network", { id }); }
  connectNetwork(network: string, container: string) { return invoke<void>("connect_network", { network, container }); }
  disconnectNetwork(network: string, container: string) { return invoke<void>("disconnect_network", { network, container }); }

  openUrl(url: string) { return invoke<void>("open_url", { url }); }

  listComposeProjects() { return invoke<ComposeProject[]>("list_compose_projects"); }
  composeContainers(name: string) { return invoke<ComposeContainer[]>("compose_containers", { name }); }
  composeAction(name: string, action: ProjectAction) { return invoke<void>("compose_action", { name, action }); }
  streamComposeLogs(name: string, tail: number | null, cb: (l: ProjectLogLine) => void) {
    return stream("stream_compose_logs", { name, tail }, cb);
  }
  composePreview(file: string) { return invoke<ComposePreview>("compose_preview", { file }); }
  async composeUp(file: string, cb: (e: ComposeEvent) => void) {
    const channel = new Channel<ComposeEvent>();
    channel.onmessage = cb;
    await invoke<void>("compose_up", { file, channel });
  }

  hubAccount() { return invoke<Account | null>("hub_account"); }
  async hubSignIn(onOutcome: (o: SignInOutcome) => void, dockerConfig?: DockerConfigChoice): Promise<SignInSession> {
    const channel = new Channel<SignInOutcome>();
    channel.onmessage = onOutcome;
    const started = await invoke<SignInStarted>("hub_sign_in", { channel, dockerConfig: dockerConfig ?? null });
    return {
      ...started,
      cancel: () => {
        channel.onmessage = () => {};
        void invoke("stop_stream", { streamId: started.streamId });
      },
    };
  }
  hubSignOut(registry: string | null, restoreDockerConfig?: boolean) {
    return invoke<boolean>("hub_sign_out", { registry, restoreDockerConfig: restoreDockerConfig ?? false });
  }
  listRegistries() { return invoke<Account[]>("list_registries"); }
  addRegistry(registry: string, username: string, token: string, dockerConfig?: DockerConfigChoice) {
    return invoke<Account>("add_registry", { registry, username, token, dockerConfig: dockerConfig ?? null });
  }
  onSignInRequested(cb: () => void) { return listen("berth://sign-in", () => cb()); }
  hubRepositories() { return invoke<HubRepository[]>("hub_repositories"); }
  hubSearch(query: string) { return invoke<HubSearchResult[]>("hub_search", { query }); }

  getSettings() { return invoke<SettingsView>("get_settings"); }
  validateSettings(values: Record<string, string>, sharedFolders: string[]) {
    return invoke<SettingsFieldError[]>("validate_settings", { values, sharedFolders });
  }
  saveSettings(values: Record<string, string>, sharedFolders: string[]) {
    return invoke<SettingsSaved>("save_settings", { values, sharedFolders });
  }
  learnLessons() { return invoke<LearnLesson[]>("learn_lessons"); }
  learnStart(id: string, params: Record<string, string> = {}) { return invoke<LearnStep | null>("learn_start", { id, params }); }
  learnStep() { return invoke<LearnStep | null>("learn_step"); }
  learnRunStep() { return invoke<LearnReport>("learn_run_step"); }
  learnLeave() { return invoke<LearnLeft>("learn_leave"); }
  listEngines() { return invoke<EngineEntry[]>("list_engines"); }
  addRemoteEngine(form: RemoteEngineForm) { return invoke<EngineEntry>("add_remote_engine", { ...form }); }
  useEngine(name: string) { return invoke<void>("use_engine", { name }); }
  removeEngine(name: string) { return invoke<void>("remove_engine", { name }); }
  followedEngine() { return invoke<string | null>("followed_engine"); }
  switchEngine(name: string) { return invoke<void>("switch_engine", { name }); }
  swarmOverview() { return invoke<SwarmOverview>("swarm_overview"); }
  swarmInit(advertiseAddr: string | null) { return invoke<string>("swarm_init", { advertiseAddr }); }
  swarmTasks(service: string) { return invoke<TaskSummary[]>("swarm_tasks", { service }); }
  swarmScale(service: string, replicas: number) { return invoke<void>("swarm_scale", { service, replicas }); }
  swarmUpdateImage(service: string, image: string) { return invoke<void>("swarm_update_image", { service, image }); }
  swarmSetAvailability(node: string, availability: "active" | "pause" | "drain") { return invoke<void>("swarm_set_availability", { node, availability }); }
  swarmAutoscaleRules() { return invoke<AutoscaleRule[]>("swarm_autoscale_rules"); }
  swarmSetAutoscale(service: string, min: number, max: number, cpuPercent: number) {
    return invoke<AutoscaleRule>("swarm_set_autoscale", { service, min, max, cpuPercent });
  }
  swarmAutoscaleOff(service: string) { return invoke<boolean>("swarm_autoscale_off", { service }); }
  swarmAutoscaleHistory() { return invoke<AutoscaleDecision[]>("swarm_autoscale_history"); }
  swarmObjects(kind: SwarmObjectKind) { return invoke<SwarmObject[]>("swarm_objects", { kind }); }
  swarmCreateObject(kind: SwarmObjectKind, name: string, data: Uint8Array) {
    return invoke<string>("swarm_create_object", { kind, name, data: Array.from(data) });
  }
  swarmRemoveObject(kind: SwarmObjectKind, name: string) { return invoke<void>("swarm_remove_object", { kind, name }); }
  swarmJoin(remoteAddr: string, token: string, advertiseAddr: string | null) {
    return invoke<void>("swarm_join", { remoteAddr, token, advertiseAddr });
  }
  swarmJoinTokens() { return invoke<JoinTokens>("swarm_join_tokens"); }
  readLog(source: LogSource) { return invoke<LogTail>("read_log", { source }); }
  cleanUp(volumes: boolean) { return invoke<CleanUpSummary>("clean_up", { volumes }); }
  createDiagnostics(path: string | null) { return invoke<DiagnosticsBundle>("create_diagnostics", { path }); }
  factoryReset() { return invoke<FactoryResetDone>("factory_reset"); }
}
