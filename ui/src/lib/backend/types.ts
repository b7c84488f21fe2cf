// The one interface the UI talks to. `tauri.ts` implements it over invoke + Channel;
// `mock.ts` implements it in memory for component tests.
import type {
  ContainerSummary,
  StatsSample,
  DiskUsage,
  EventFeedItem,
  EngineInfo,
  EngineState,
  LogOptions,
  ImageSummary,
  LogLine,
  NetworkSummary,
  PullProgress,
  RunSpec,
  VolumeSummary,
  FileEntry,
  PruneReport,
  ImageHistoryEntry,
  VolumeArchive,
  SettingsView,
  SettingsSaved,
  SettingsFieldError,
  LogSource,
  LogTail,
  CleanUpSummary,
  DiagnosticsBundle,
  FactoryResetDone,
  PortWarning,
  LearnLesson,
  LearnStep,
  LearnReport,
  LearnLeft,
  EngineEntry,
  SwarmOverview,
  TaskSummary,
  AutoscaleRule,
  AutoscaleDecision,
  SwarmObject,
  SwarmObjectKind,
  JoinTokens,
} from "../generated";
import type {
  ComposeContainer, ComposeEvent, ComposePreview, ComposeProject, ProjectAction, ProjectLogLine,
} from "../../compose/types";
import type {
  Account, DockerConfigChoice, HubRepository, HubSearchResult, SignInOutcome, SignInSession,
} from "../../hub/types";

export type Unsubscribe = () => void;

/** The "Add remote engine" form: the TLS files go with a tcp:// address, all three or none. */
export interface RemoteEngineForm {
  name: string;
  address: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** A stats feed: `watch` makes `ids` the sampled containers; `close` ends it. */
export interface StatsFeed {
  watch(ids: string[]): Promise<void>;
  close(): void;
}

export type ContainerAction = "start" | "stop" | "restart" | "pause" | "unpause" | "kill";

export interface ExecSession {
  write(data: string): Promise<void>;
  resize(cols: number, rows: number): Promise<void>;
  close(): void;
}

/** What every failed call rejects with: the Rust `ApiError`. */
export interface BackendError {
  code: string;
  message: string;
}

export interface Backend {
  // Engine
  engineState(): Promise<EngineState>;
  onEngineState(cb: (s: EngineState) => void): Promise<Unsubscribe>;
  engineInfo(): Promise<EngineInfo>;
  diskUsage(): Promise<DiskUsage>;
  startEngine(): Promise<void>;
  stopEngine(): Promise<void>;
  restartEngine(): Promise<void>;
  /** Resource Saver by hand: pause the VM now; any connection wakes it. */
  pauseEngine(): Promise<void>;
  /** "Wake now": resume a paused engine. */
  wakeEngine(): Promise<void>;
  /** The app asks how to quit (stop Berth's engine or keep it running); answer with `quitApp`. */
  onQuitRequested(cb: () => void): Promise<Unsubscribe>;
  /** `remember`: make this the `app.on_quit` setting. */
  quitApp(stopEngine: boolean, remember: boolean): Promise<void>;
  /** Every engine event, and a `resync` when this window fell behind a burst. */
  onEngineEvent(cb: (item: EventFeedItem) => void): Promise<Unsubscribe>;

  // Containers
  listContainers(): Promise<ContainerSummary[]>;
  /** One container as its row shows it, or null when it is gone. */
  getContainer(id: string): Promise<ContainerSummary | null>;
  containerAction(id: string, action: ContainerAction): Promise<void>;
  removeContainer(id: string, force: boolean): Promise<void>;
  inspectContainer(id: string): Promise<unknown>;
  streamLogs(id: string, opts: LogOptions, cb: (l: LogLine) => void): Promise<Unsubscribe>;
  streamStats(id: string, cb: (s: StatsSample) => void): Promise<Unsubscribe>;
  /** One feed for many containers: a batch of samples a second for the ids last watched. */
  openStatsFeed(cb: (batch: StatsSample[]) => void): Promise<StatsFeed>;
  exec(id: string, cmd: string[], cols: number, rows: number, onOutput: (data: Uint8Array | string) => void): Promise<ExecSession>;
  listContainerFiles(id: string, path: string): Promise<FileEntry[]>;
  pruneContainers(): Promise<PruneReport>;
  /** Published ports Berth could not publish on the host (taken, not allowed), one per binding. */
  portWarnings(): Promise<PortWarning[]>;
  /** The whole list again whenever it changes (pushed by the daemon, no polling). */
  onPortWarnings(cb: (list: PortWarning[]) => void): Promise<Unsubscribe>;

  // Images
  listImages(): Promise<ImageSummary[]>;
  pullImage(reference: string, cb: (p: PullProgress) => void): Promise<void>;
  removeImage(id: string, force: boolean): Promise<void>;
  pruneImages(all: boolean): Promise<PruneReport>;
  tagImage(id: string, repo: string, tag: string): Promise<void>;
  runContainer(spec: RunSpec): Promise<string>;
  /** Pushes one of the image's tags; progress per layer (`layerId`), then the digest line. */
  pushImage(reference: string, cb: (p: PullProgress) => void): Promise<void>;
  imageHistory(id: string): Promise<ImageHistoryEntry[]>;

  // Volumes
  listVolumes(): Promise<VolumeSummary[]>;
  createVolume(name: string): Promise<unknown>;
  removeVolume(name: string): Promise<void>;
  pruneVolumes(): Promise<PruneReport>;
  listVolumeFiles(name: string, path: string): Promise<FileEntry[]>;
  /** Writes the volume's files to a `.tar.gz` at `path` (`~/` is the home folder). */
  exportVolume(name: string, path: string): Promise<VolumeArchive>;
  /** Fills a new or empty volume from a `.tar.gz`; creates the volume when missing. */
  importVolume(name: string, path: string): Promise<VolumeArchive>;
  /** The native save (export) or open (import) dialog; null when cancelled. */
  pickArchive(save: boolean, fileName: string | null): Promise<string | null>;

  // Networks
  listNetworks(): Promise<NetworkSummary[]>;
  inspectNetwork(id: string): Promise<NetworkSummary>;
  createNetwork(name: string): Promise<unknown>;
  removeNetwork(id: string): Promise<void>;
  connectNetwork(network: string, container: string): Promise<void>;
  disconnectNetwork(network: string, container: string): Promise<void>;

  // Desktop
  openUrl(url: string): Promise<void>;

  // Compose (projects are found by their labels, whatever tool made them)
  listComposeProjects(): Promise<ComposeProject[]>;
  composeContainers(project: string): Promise<ComposeContainer[]>;
  composeAction(project: string, action: ProjectAction): Promise<void>;
  streamComposeLogs(project: string, tail: number | null, cb: (l: ProjectLogLine) => void): Promise<Unsubscribe>;
  composePreview(file: string): Promise<ComposePreview>;
  composeUp(file: string, cb: (e: ComposeEvent) => void): Promise<void>;

  // Sign-in, registries, Hub
  hubAccount(): Promise<Account | null>;
  /** Starts the device flow; `onOutcome` is called once when it ends. Signed in, the docker CLI
   * is pointed at Berth as `dockerConfig` says (`cred-helpers` when absent). */
  hubSignIn(onOutcome: (o: SignInOutcome) => void, dockerConfig?: DockerConfigChoice): Promise<SignInSession>;
  /** With `restoreDockerConfig`, the docker CLI's `config.json` goes back to how it was. */
  hubSignOut(registry: string | null, restoreDockerConfig?: boolean): Promise<boolean>;
  listRegistries(): Promise<Account[]>;
  addRegistry(registry: string, username: string, token: string, dockerConfig?: DockerConfigChoice): Promise<Account>;
  /** The tray's "Sign in…" item was chosen. */
  onSignInRequested(cb: () => void): Promise<Unsubscribe>;
  hubRepositories(): Promise<HubRepository[]>;
  hubSearch(query: string): Promise<HubSearchResult[]>;

  // Settings (values by dotted key as text; berth-core checks them)
  getSettings(): Promise<SettingsView>;
  validateSettings(values: Record<string, string>, sharedFolders: string[]): Promise<SettingsFieldError[]>;
  /** Saves nothing while any field is refused (`fieldErrors`). */
  saveSettings(values: Record<string, string>, sharedFolders: string[]): Promise<SettingsSaved>;

  // Learn (lesson texts come in the language the dashboard speaks)
  learnLessons(): Promise<LearnLesson[]>;
  /** Starts a lesson (leaving the one in progress) with its parameters (empty: the default)
   *  and returns its first step. */
  learnStart(id: string, params?: Record<string, string>): Promise<LearnStep | null>;
  /** The step about to run; null when the lesson is done; `not_found` when none is in progress. */
  learnStep(): Promise<LearnStep | null>;
  learnRunStep(): Promise<LearnReport>;
  /** Ends the lesson in progress, removing everything it made. */
  learnLeave(): Promise<LearnLeft>;

  // Engines
  /** Berth's engine, the remotes added, every docker context, each asked for its version. */
  listEngines(): Promise<EngineEntry[]>;
  /** Tests the connection, then saves; rejects with why it does not answer. */
  addRemoteEngine(form: RemoteEngineForm): Promise<EngineEntry>;
  /** Makes the engine the current docker context. */
  useEngine(name: string): Promise<void>;
  removeEngine(name: string): Promise<void>;
  /** The engine every page follows (null: the one chosen in settings or DOCKER_HOST). */
  followedEngine(): Promise<string | null>;
  /** Every page follows `name` from now on; it becomes the current docker context too. */
  switchEngine(name: string): Promise<void>;

  // Swarm
  /** Where the engine stands in swarm mode; on a manager its nodes, services and stacks. */
  swarmOverview(): Promise<SwarmOverview>;
  /** Makes the engine a one-node swarm; `advertiseAddr` null lets the engine choose. */
  swarmInit(advertiseAddr: string | null): Promise<string>;
  swarmTasks(service: string): Promise<TaskSummary[]>;
  /** Rejects with why for a global service. */
  swarmScale(service: string, replicas: number): Promise<void>;
  /** Rolls the service over to `image`, per its update policy. */
  swarmUpdateImage(service: string, image: string): Promise<void>;
  swarmSetAvailability(node: string, availability: "active" | "pause" | "drain"): Promise<void>;
  swarmAutoscaleRules(): Promise<AutoscaleRule[]>;
  /** Rejects with the option that is wrong (min above max, ...). */
  swarmSetAutoscale(service: string, min: number, max: number, cpuPercent: number): Promise<AutoscaleRule>;
  swarmAutoscaleOff(service: string): Promise<boolean>;
  /** The logged scaling decisions, oldest first. */
  swarmAutoscaleHistory(): Promise<AutoscaleDecision[]>;
  /** Secrets or configs: names and dates, never their data. */
  swarmObjects(kind: SwarmObjectKind): Promise<SwarmObject[]>;
  swarmCreateObject(kind: SwarmObjectKind, name: string, data: Uint8Array): Promise<string>;
  /** Rejects, naming the services, when a service uses it. */
  swarmRemoveObject(kind: SwarmObjectKind, name: string): Promise<void>;
  /** Joins a manager's swarm; rejects with why (a bad token, a manager that does not answer). */
  swarmJoin(remoteAddr: string, token: string, advertiseAddr: string | null): Promise<void>;
  swarmJoinTokens(): Promise<JoinTokens>;

  // Troubleshoot
  readLog(source: LogSource): Promise<LogTail>;
  cleanUp(volumes: boolean): Promise<CleanUpSummary>;
  /** `path` null: into Berth's folder (the result says where). */
  createDiagnostics(path: string | null): Promise<DiagnosticsBundle>;
  factoryReset(): Promise<FactoryResetDone>;
}

export function errorMessage(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as BackendError).message);
  return String(e);
}

export function errorCode(e: unknown): string | undefined {
  if (e && typeof e === "object" && "code" in e) return String((e as BackendError).code);
  return undefined;
}
