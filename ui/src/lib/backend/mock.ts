// In-memory backend for component tests and `npm run dev` without Tauri. It keeps the same
// contract as the real one: every change emits an engine event, streams are push callbacks.
import type { Backend, ContainerAction, ExecSession, StatsFeed, Unsubscribe } from "./types";
import type {
  StatsSample, ContainerSummary, LogOptions, UsageTotals, DiskUsage, EngineEvent, EventFeedItem, EngineInfo, EngineState, FileEntry,
  ImageSummary, LogLine, NetworkSummary, PruneReport, PullProgress, RunSpec, VolumeSummary,
  ImageHistoryEntry, VolumeArchive, SettingsView, SettingsSaved, SettingsFieldError, LogSource, LogTail,
  CleanUpSummary, DiagnosticsBundle, FactoryResetDone, PortWarning,
} from "../generated";
import type {
  ComposeContainer, ComposeEvent, ComposePreview, ComposeProject, ProjectAction, ProjectLogLine,
} from "../../compose/types";
import type {
  Account, DockerConfigChoice, HubRepository, HubSearchResult, SignInOutcome, SignInSession,
} from "../../hub/types";
import { MockLearn } from "../../learn/mock";
import { MockEngines } from "../../engines/mock";
import { MockSwarm } from "../../swarm/mock";
import type { SwarmObjectKind } from "../generated";
import type { RemoteEngineForm } from "./types";

export interface MockData {
  containers: ContainerSummary[];
  images: ImageSummary[];
  volumes: VolumeSummary[];
  networks: NetworkSummary[];
  /** Compose containers; projects are derived from their `Project`. */
  composeContainers: ComposeContainer[];
  /** What `composePreview`/`composeUp` find at a path. */
  composeFiles: Record<string, ComposePreview>;
  account: Account | null;
  registries: Account[];
  /** False: Hub calls fail as they do offline. */
  hubOnline: boolean;
  hubRepositories: HubRepository[];
}

export function mockComposeContainer(project: string, service: string, n = 1, patch: Partial<ComposeContainer> = {}): ComposeContainer {
  return {
    ID: `${project}-${service}-${n}-id`, Name: `${project}-${service}-${n}`, Image: "busybox:latest", Command: "sh", Project: project,
    Service: service, Number: n, State: "running", Health: "", Status: "Up 2 minutes", Created: 1_700_000_000, Publishers: [], ...patch,
  };
}

export function mockAccount(username: string, registry = "https://index.docker.io/v1/", method: Account["method"] = "oauth"): Account {
  return { registry, username, method, initial: username.charAt(0).toUpperCase() };
}

export function mockContainer(n: number, patch: Partial<ContainerSummary> = {}): ContainerSummary {
  return {
    id: `c${n.toString().padStart(11, "0")}`, name: `app-${n}`, image: "busybox:latest", imageId: "sha256:b",
    command: "sh", state: "running", status: "Up 5 minutes", created: 1_700_000_000 + n,
    ports: [], labels: {}, composeProject: null, composeService: null, networks: ["bridge"], ...patch,
  };
}

export function mockNetwork(id: string, name: string, driver = "bridge", subnets = ["172.20.0.0/16"]): NetworkSummary {
  return { id, name, driver, scope: "local", internal: false, attachable: false, created: null, subnets, labels: {}, containers: [] };
}

export function mockImage(id: string, tag: string | null, patch: Partial<ImageSummary> = {}): ImageSummary {
  return { id, parentId: "", repoTags: tag ? [tag] : [], repoDigests: [], created: 1_700_000_000, size: 4_000_000,
    sharedSize: 0, containers: 0, labels: {}, ...patch };
}

export function mockVolume(name: string, patch: Partial<VolumeSummary> = {}): VolumeSummary {
  return { name, driver: "local", mountpoint: `/var/lib/docker/volumes/${name}/_data`, createdAt: null, scope: "local",
    labels: {}, size: 0, containers: [], ...patch };
}

/** A port the daemon could not publish because something else on the host holds it. */
export function mockPortWarning(container: string, hostPort: number, patch: Partial<PortWarning> = {}): PortWarning {
  return {
    container, hostIp: "127.0.0.1", hostPort, protocol: "tcp", inUse: true,
    message: `port 127.0.0.1:${hostPort} is already in use on this computer; the container runs, but its port is not reachable from the host. Stop what uses the port, or publish another one`,
    ...patch,
  };
}

export function mockStats(id: string, cpuPercent: number, memoryUsage: number): StatsSample {
  return { id, name: id, read: new Date().toISOString(), cpuPercent, memoryUsage, memoryLimit: 2 ** 30,
    networkRxBytes: 1000, networkTxBytes: 500, blockReadBytes: 0, blockWriteBytes: 0, pids: 1 };
}

const totals = (totalCount: number, size = 0): UsageTotals => ({ totalCount, active: 0, size, reclaimable: 0 });

export class MockBackend implements Backend {
  data: MockData;
  state: EngineState = { state: "running", since: "2026-01-01T00:00:00Z" };
  calls: string[] = [];
  failNext: { code: string; message: string } | null = null;
  private eventListeners = new Set<(item: EventFeedItem) => void>();
  private stateListeners = new Set<(s: EngineState) => void>();
  /** The daemon's port warnings now; `setPortWarnings` pushes a new list. */
  portWarningList: PortWarning[] = [];
  portWarningListeners = new Set<(list: PortWarning[]) => void>();
  logListeners = new Set<(l: LogLine) => void>();
  /** Open stats streams per container id (rows subscribe while visible). */
  statsListeners = new Map<string, Set<(s: StatsSample) => void>>();
  /** Tags a push reached, as a registry would list them. */
  pushed: string[] = [];
  /** Exported files: path -> the volume's name and size. */
  archives: Record<string, { volume: string; size: number }> = {};
  /** What the native file dialog answers (null: the user cancels). */
  pickedPath: string | null = "/home/u/picked.tar.gz";
  /** The settings file as the mock keeps it (key -> text), with its unknown keys. */
  settings: SettingsView = mockSettings();
  unknownSettings: Record<string, string> = { "future.key": "kept" };
  /** The OS refuses the login item ("Start Berth at login"). */
  loginItemFails = false;
  logs: Record<LogSource, string> = { vmConsole: "[    0.000000] Linux version 6.1\nberth-agent: ready\n", berth: "INFO daemon: engine running\n" };

  constructor(data: Partial<MockData> = {}) {
    this.data = {
      containers: data.containers ?? [],
      images: data.images ?? [],
      volumes: data.volumes ?? [],
      networks: data.networks ?? [
        mockNetwork("n1", "bridge", "bridge", ["172.17.0.0/16"]),
        mockNetwork("n2", "host", "host", []),
        mockNetwork("n3", "none", "null", []),
      ],
      composeContainers: data.composeContainers ?? [],
      composeFiles: data.composeFiles ?? {},
      account: data.account ?? null,
      registries: data.registries ?? [],
      hubOnline: data.hubOnline ?? true,
      hubRepositories: data.hubRepositories ?? [],
    };
  }

  private call(name: string) {
    this.calls.push(name);
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
  }

  emit(kind: string, action: string, id: string) {
    const now = Date.now();
    const ev: EngineEvent = { kind, action, id, name: null, attributes: {}, time: Math.floor(now / 1000), timeNano: now * 1e6 };
    for (const l of this.eventListeners) l({ type: "event", event: ev });
  }

  /** The window fell behind a burst of events, as the app says after a lag. */
  resync(missed = 1) {
    for (const l of this.eventListeners) l({ type: "resync", missed });
  }

  setState(s: EngineState) {
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  setPortWarnings(list: PortWarning[]) {
    this.portWarningList = list;
    for (const l of this.portWarningListeners) l(structuredClone(list));
  }

  async engineState() { this.call("engineState"); return this.state; }
  async onEngineState(cb: (s: EngineState) => void): Promise<Unsubscribe> {
    this.stateListeners.add(cb);
    return () => this.stateListeners.delete(cb);
  }
  async engineInfo(): Promise<EngineInfo> {
    this.call("engineInfo");
    return { name: "mock", operatingSystem: "Debian GNU/Linux 12", cpus: 2, memTotal: 4 * 2 ** 30, vmHostMemory: 812 * 2 ** 20,
      version: { version: "20.10.24", apiVersion: "1.41", minApiVersion: "1.12", negotiatedApiVersion: "1.41", os: "linux",
        arch: "amd64", kernelVersion: "6.1.0", goVersion: "go1.19", gitCommit: "mock" } };
  }
  async diskUsage(): Promise<DiskUsage> {
    this.call("diskUsage");
    const size = this.data.images.reduce((a, i) => a + i.size, 0);
    return {
      layersSize: size, images: totals(this.data.images.length, size), containers: totals(this.data.containers.length),
      volumes: totals(this.data.volumes.length), buildCache: totals(0), volumeSizes: {},
    };
  }
  async startEngine() { this.call("startEngine"); this.setState({ state: "running", since: new Date().toISOString() }); }
  async stopEngine() { this.call("stopEngine"); this.setState({ state: "stopped" }); }
  async restartEngine() { this.call("restartEngine"); this.setState({ state: "running", since: new Date().toISOString() }); }
  async pauseEngine() { this.call("pauseEngine"); this.setState({ state: "paused", since: new Date().toISOString() }); }
  async wakeEngine() { this.call("wakeEngine"); this.setState({ state: "running", since: new Date().toISOString() }); }
  quitListeners = new Set<() => void>();
  async onQuitRequested(cb: () => void): Promise<Unsubscribe> {
    this.quitListeners.add(cb);
    return () => this.quitListeners.delete(cb);
  }
  /** What the tray's Quit does when the setting says "ask". */
  requestQuit() { for (const l of this.quitListeners) l(); }
  async quitApp(stopEngine: boolean, remember: boolean) { this.call(`quitApp:${stopEngine}${remember ? ":remember" : ""}`); }
  async onEngineEvent(cb: (item: EventFeedItem) => void): Promise<Unsubscribe> {
    this.eventListeners.add(cb);
    return () => this.eventListeners.delete(cb);
  }

  async listContainers() { this.call("listContainers"); return structuredClone(this.data.containers); }
  async getContainer(id: string) {
    this.call(`getContainer:${id}`);
    const c = this.data.containers.find((c) => c.id === id || (id.length >= 12 && c.id.startsWith(id)));
    return c ? structuredClone(c) : null;
  }
  async containerAction(id: string, action: ContainerAction) {
    this.call(`containerAction:${action}:${id}`);
    const c = this.data.containers.find((c) => c.id === id);
    if (!c) throw { code: "not_found", message: `No such container: ${id}` };
    const next: Record<ContainerAction, string> = {
      start: "running", stop: "exited", restart: "running", pause: "paused", unpause: "running", kill: "exited",
    };
    c.state = next[action];
    this.emit("container", action === "stop" ? "die" : action, id);
  }
  async removeContainer(id: string, force: boolean) {
    this.call(`removeContainer:${id}:${force}`);
    this.data.containers = this.data.containers.filter((c) => c.id !== id);
    this.emit("container", "destroy", id);
  }
  async inspectContainer(id: string) {
    this.call(`inspectContainer:${id}`);
    const c = this.data.containers.find((c) => c.id === id);
    return { Id: id, Name: `/${c?.name}`, Config: { Image: c?.image, Env: ["PATH=/bin"] }, State: { Status: c?.state } };
  }
  async streamLogs(id: string, _opts: LogOptions, cb: (l: LogLine) => void): Promise<Unsubscribe> {
    this.call(`streamLogs:${id}`);
    cb({ stream: "stdout", text: "hello from \u001b[32mmock\u001b[0m", timestamp: "2026-01-01T00:00:00Z" });
    this.logListeners.add(cb);
    return () => this.logListeners.delete(cb);
  }
  async streamStats(id: string, cb: (s: StatsSample) => void): Promise<Unsubscribe> {
    this.call(`streamStats:${id}`);
    const set = this.statsListeners.get(id) ?? new Set();
    this.statsListeners.set(id, set.add(cb));
    cb(mockStats(id, 1.5, 10 * 2 ** 20));
    return () => {
      set.delete(cb);
      if (!set.size) this.statsListeners.delete(id);
    };
  }
  /** A feed as the app's: one stream per watched id (so `statsListeners` shows what is watched). */
  async openStatsFeed(cb: (batch: StatsSample[]) => void): Promise<StatsFeed> {
    this.call("openStatsFeed");
    const subs = new Map<string, Promise<Unsubscribe>>();
    const drop = (id: string) => {
      void subs.get(id)?.then((u) => u());
      subs.delete(id);
    };
    return {
      watch: async (ids) => {
        for (const id of [...subs.keys()]) if (!ids.includes(id)) drop(id);
        for (const id of ids) if (!subs.has(id)) subs.set(id, this.streamStats(id, (s) => cb([s])));
        await Promise.all(subs.values());
      },
      close: () => { for (const id of [...subs.keys()]) drop(id); },
    };
  }
  /** Sends a sample to every open stats stream of `id`. */
  emitStats(id: string, cpuPercent: number, memoryUsage: number) {
    for (const cb of this.statsListeners.get(id) ?? []) cb(mockStats(id, cpuPercent, memoryUsage));
  }
  async exec(id: string, cmd: string[], _cols: number, _rows: number, onOutput: (d: Uint8Array | string) => void): Promise<ExecSession> {
    this.call(`exec:${id}:${cmd.join(" ")}`);
    onOutput("/ # ");
    return {
      write: async (d: string) => onOutput(d === "\r" ? "\r\n/ # " : d),
      resize: async () => {},
      close: () => {},
    };
  }
  async listContainerFiles(id: string, path: string): Promise<FileEntry[]> {
    this.call(`listContainerFiles:${id}:${path}`);
    return [
      { name: "bin", kind: "dir", size: 0, mode: 0o755, modified: 0 },
      { name: "hello.txt", kind: "file", size: 12, mode: 0o644, modified: 0 },
    ];
  }
  async pruneContainers(): Promise<PruneReport> {
    this.call("pruneContainers");
    const gone = this.data.containers.filter((c) => c.state !== "running");
    this.data.containers = this.data.containers.filter((c) => c.state === "running");
    return { deleted: gone.map((c) => c.id), spaceReclaimed: 0 };
  }
  async portWarnings() { this.call("portWarnings"); return structuredClone(this.portWarningList); }
  async onPortWarnings(cb: (list: PortWarning[]) => void): Promise<Unsubscribe> {
    this.portWarningListeners.add(cb);
    return () => this.portWarningListeners.delete(cb);
  }

  async listImages() { this.call("listImages"); return structuredClone(this.data.images); }
  async pullImage(reference: string, cb: (p: PullProgress) => void) {
    this.call(`pullImage:${reference}`);
    cb({ layerId: reference.split(":")[1] ?? "latest", status: `Pulling from ${reference}`, current: null, total: null });
    cb({ layerId: "layer1", status: "Downloading", current: 50, total: 100 });
    cb({ layerId: "layer1", status: "Pull complete", current: null, total: null });
    this.data.images.push(mockImage(`sha256:${reference}`, reference, { size: 1234 }));
    this.emit("image", "pull", reference);
  }
  async removeImage(id: string, force: boolean) {
    this.call(`removeImage:${id}:${force}`);
    this.data.images = this.data.images.filter((i) => i.id !== id);
    this.emit("image", "delete", id);
  }
  async pruneImages(all: boolean): Promise<PruneReport> {
    this.call(`pruneImages:${all}`);
    const gone = this.data.images.filter((i) => i.containers === 0 && (all || i.repoTags.length === 0));
    this.data.images = this.data.images.filter((i) => !gone.includes(i));
    return { deleted: gone.map((i) => i.id), spaceReclaimed: gone.reduce((a, i) => a + i.size, 0) };
  }
  async tagImage(id: string, repo: string, tag: string) {
    this.call(`tagImage:${id}:${repo}:${tag}`);
    this.data.images.find((i) => i.id === id)?.repoTags.push(`${repo}:${tag}`);
    this.emit("image", "tag", id);
  }
  async runContainer(spec: RunSpec) {
    this.call(`runContainer:${spec.image}`);
    const c = mockContainer(this.data.containers.length + 1, {
      name: spec.name ?? "random_name", image: spec.image,
      ports: spec.ports.map((p) => ({ privatePort: p.containerPort, publicPort: p.hostPort, ip: "0.0.0.0", protocol: p.protocol })),
    });
    this.data.containers.push(c);
    this.emit("container", "start", c.id);
    return c.id;
  }

  async pushImage(reference: string, cb: (p: PullProgress) => void) {
    this.call(`pushImage:${reference}`);
    if (!this.data.images.some((i) => i.repoTags.includes(reference))) throw { code: "not_found", message: `No such image: ${reference}` };
    cb({ layerId: null, status: `The push refers to repository [${reference.split(":")[0]}]`, current: null, total: null });
    for (const layer of ["layer1", "layer2"]) cb({ layerId: layer, status: "Preparing", current: null, total: null });
    cb({ layerId: "layer1", status: "Pushing", current: 512, total: 1024 });
    cb({ layerId: "layer1", status: "Pushed", current: null, total: null });
    cb({ layerId: "layer2", status: "Layer already exists", current: null, total: null });
    cb({ layerId: null, status: `${reference.split(":")[1] ?? "latest"}: digest: sha256:abc size: 527`, current: null, total: null });
    this.pushed.push(reference);
  }
  async imageHistory(id: string): Promise<ImageHistoryEntry[]> {
    this.call(`imageHistory:${id}`);
    return [
      { id, created: 1_700_000_100, createdBy: "/bin/sh -c #(nop)  CMD [\"sh\"]", tags: [], size: 0, comment: "" },
      { id: "<missing>", created: 1_700_000_000, createdBy: "/bin/sh -c #(nop) ADD file:abc in / ", tags: [], size: 4_000_000, comment: "" },
    ];
  }

  async listVolumes() { this.call("listVolumes"); return structuredClone(this.data.volumes); }
  async createVolume(name: string) {
    this.call(`createVolume:${name}`);
    const v = mockVolume(name || "a1b2c3");
    this.data.volumes.push(v);
    this.emit("volume", "create", v.name);
    return v;
  }
  async removeVolume(name: string) {
    this.call(`removeVolume:${name}`);
    this.data.volumes = this.data.volumes.filter((v) => v.name !== name);
    this.emit("volume", "destroy", name);
  }
  async pruneVolumes(): Promise<PruneReport> {
    this.call("pruneVolumes");
    const gone = this.data.volumes.filter((v) => v.containers.length === 0);
    this.data.volumes = this.data.volumes.filter((v) => v.containers.length > 0);
    return { deleted: gone.map((v) => v.name), spaceReclaimed: 0 };
  }
  async listVolumeFiles(name: string, path: string) {
    this.call(`listVolumeFiles:${name}:${path}`);
    return [{ name: "data.txt", kind: "file", size: 5, mode: 0o644, modified: 0 }];
  }

  async exportVolume(name: string, path: string): Promise<VolumeArchive> {
    this.call(`exportVolume:${name}:${path}`);
    const v = this.data.volumes.find((v) => v.name === name);
    if (!v) throw { code: "not_found", message: `Not found: get ${name}: no such volume` };
    this.archives[path] = { volume: name, size: v.size ?? 0 };
    return { tarBytes: 10_240, fileBytes: 2_048 };
  }
  async importVolume(name: string, path: string): Promise<VolumeArchive> {
    this.call(`importVolume:${name}:${path}`);
    const archive = this.archives[path];
    if (!archive) throw { code: "io", message: `Cannot access ${path}` };
    const v = this.data.volumes.find((v) => v.name === name);
    if (v && (v.size ?? 0) > 0) throw { code: "conflict", message: `Conflict: volume ${name} is not empty; import into a new or empty volume` };
    if (v) v.size = archive.size;
    else {
      this.data.volumes.push(mockVolume(name, { size: archive.size }));
      this.emit("volume", "create", name);
    }
    return { tarBytes: 10_240, fileBytes: 2_048 };
  }

  async pickArchive(save: boolean, fileName: string | null) {
    this.call(`pickArchive:${save ? "save" : "open"}:${fileName ?? ""}`);
    return this.pickedPath;
  }

  async listNetworks() {
    this.call("listNetworks");
    // Like the engine's list: no attached containers (inspect has them).
    return structuredClone(this.data.networks).map((n) => ({ ...n, containers: [] }));
  }
  async inspectNetwork(id: string) {
    this.call(`inspectNetwork:${id}`);
    const n = this.data.networks.find((n) => n.id === id || n.name === id);
    if (!n) throw { code: "not_found", message: `network ${id} not found` };
    return structuredClone(n);
  }
  async createNetwork(name: string) {
    this.call(`createNetwork:${name}`);
    this.data.networks.push(mockNetwork(`net-${name}`, name));
    this.emit("network", "create", name);
    return `net-${name}`;
  }
  async removeNetwork(id: string) {
    this.call(`removeNetwork:${id}`);
    this.data.networks = this.data.networks.filter((n) => n.id !== id);
    this.emit("network", "destroy", id);
  }
  async connectNetwork(network: string, container: string) {
    this.call(`connectNetwork:${network}:${container}`);
    this.data.networks.find((n) => n.id === network || n.name === network)?.containers.push(
      { containerId: container, name: container, ipv4Address: "172.20.0.2/16", macAddress: "02:42:ac:14:00:02" });
    this.emit("network", "connect", network);
  }
  async disconnectNetwork(network: string, container: string) {
    this.call(`disconnectNetwork:${network}:${container}`);
    const n = this.data.networks.find((n) => n.id === network || n.name === network);
    if (n) n.containers = n.containers.filter((c) => c.name !== container && c.containerId !== container);
    this.emit("network", "disconnect", network);
  }

  async openUrl(url: string) { this.call(`openUrl:${url}`); }

  // Compose
  async listComposeProjects(): Promise<ComposeProject[]> {
    this.call("listComposeProjects");
    const byName = new Map<string, ComposeContainer[]>();
    for (const c of this.data.composeContainers) byName.set(c.Project, [...(byName.get(c.Project) ?? []), c]);
    return [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([Name, cs]) => {
      const Running = cs.filter((c) => c.State === "running").length;
      const states = new Map<string, number>();
      for (const c of cs) states.set(c.State, (states.get(c.State) ?? 0) + 1);
      return { Name, Running, Total: cs.length, Status: [...states].map(([s, n]) => `${s}(${n})`).join(", "),
        ConfigFiles: `/home/u/${Name}/compose.yaml`, WorkingDir: `/home/u/${Name}` };
    });
  }
  async composeContainers(project: string) {
    this.call(`composeContainers:${project}`);
    return structuredClone(this.data.composeContainers.filter((c) => c.Project === project));
  }
  async composeAction(project: string, action: ProjectAction) {
    this.call(`composeAction:${action}:${project}`);
    const mine = this.data.composeContainers.filter((c) => c.Project === project);
    if (!mine.length) throw { code: "not_found", message: `No such project: ${project}` };
    if (action === "down") this.data.composeContainers = this.data.composeContainers.filter((c) => c.Project !== project);
    else for (const c of mine) c.State = action === "stop" ? "exited" : "running";
    for (const c of mine) this.emit("container", action === "down" ? "destroy" : action === "stop" ? "die" : "start", c.ID);
  }
  async streamComposeLogs(project: string, _tail: number | null, cb: (l: ProjectLogLine) => void): Promise<Unsubscribe> {
    this.call(`streamComposeLogs:${project}`);
    for (const c of this.data.composeContainers.filter((c) => c.Project === project)) {
      cb({ container: c.Name, service: c.Service, stream: "stdout", timestamp: "2026-01-01T00:00:00Z", text: `${c.Service} ready\n` });
    }
    return () => {};
  }
  async composePreview(file: string): Promise<ComposePreview> {
    this.call(`composePreview:${file}`);
    return structuredClone(this.data.composeFiles[file] ?? {
      project: null, problem: { file, line: null, message: `${file}: cannot read: No such file or directory (os error 2)` },
    });
  }
  async composeUp(file: string, cb: (e: ComposeEvent) => void) {
    this.call(`composeUp:${file}`);
    const project = this.data.composeFiles[file]?.project;
    if (!project) throw { code: "invalid_input", message: `${file}: cannot read` };
    cb({ kind: "network", name: `${project.name}_default`, status: "created" });
    for (const s of project.services) {
      const name = `${project.name}-${s.name}-1`;
      cb({ kind: "container", name, service: s.name, status: "created" });
      this.data.composeContainers = this.data.composeContainers.filter((c) => c.Name !== name);
      this.data.composeContainers.push(mockComposeContainer(project.name, s.name, 1, { Image: s.image }));
      cb({ kind: "container", name, service: s.name, status: "started" });
      this.emit("container", "start", name);
    }
  }

  // Sign-in, registries, Hub
  private signInOutcome: ((o: SignInOutcome) => void) | null = null;
  signInRequestListeners = new Set<() => void>();
  async onSignInRequested(cb: () => void): Promise<Unsubscribe> {
    this.signInRequestListeners.add(cb);
    return () => this.signInRequestListeners.delete(cb);
  }
  /** What the tray's "Sign in…" item does. */
  requestSignIn() { for (const l of this.signInRequestListeners) l(); }

  /** The user approves the pending device code in the browser, as `username`. */
  approveSignIn(username: string, dockerConfigError: { code: string; message: string } | null = null) {
    this.data.account = mockAccount(username);
    this.signInOutcome?.({ outcome: "signedIn", account: this.data.account, dockerConfigError });
    this.signInOutcome = null;
  }
  denySignIn() {
    this.signInOutcome?.({ outcome: "failed", error: { code: "unauthorized", message: "the sign-in was denied in the browser" } });
    this.signInOutcome = null;
  }
  async hubAccount() { this.call("hubAccount"); return structuredClone(this.data.account); }
  async hubSignIn(onOutcome: (o: SignInOutcome) => void, dockerConfig?: DockerConfigChoice): Promise<SignInSession> {
    this.call("hubSignIn");
    this.calls.push(`hubSignIn:dockerConfig:${dockerConfig ?? "default"}`);
    this.signInOutcome = onOutcome;
    return {
      userCode: "WDJB-MJHT", verificationUri: "https://login.example/activate",
      browserUrl: "https://login.example/activate?user_code=WDJB-MJHT", expiresInSecs: 900, browserOpened: true, streamId: 1,
      cancel: () => { this.calls.push("hubSignIn:cancel"); this.signInOutcome = null; },
    };
  }
  async hubSignOut(registry: string | null, restoreDockerConfig?: boolean) {
    this.call(`hubSignOut:${registry ?? "hub"}`);
    if (restoreDockerConfig) this.calls.push("hubSignOut:restoreDockerConfig");
    if (registry === null) {
      const had = this.data.account !== null;
      this.data.account = null;
      return had;
    }
    const before = this.data.registries.length;
    this.data.registries = this.data.registries.filter((r) => r.registry !== registry);
    return this.data.registries.length < before;
  }
  async listRegistries() {
    this.call("listRegistries");
    return structuredClone([...(this.data.account ? [this.data.account] : []), ...this.data.registries]);
  }
  async addRegistry(registry: string, username: string, token: string, dockerConfig?: DockerConfigChoice) {
    this.call(`addRegistry:${registry}:${username}`);
    this.calls.push(`addRegistry:dockerConfig:${dockerConfig ?? "default"}`);
    if (token !== "good-token") throw { code: "unauthorized", message: `${registry} refused the user name or token` };
    const a = mockAccount(username, registry, "token");
    this.data.registries = [...this.data.registries.filter((r) => r.registry !== registry), a];
    return a;
  }
  private hubOffline() {
    if (!this.data.hubOnline) throw { code: "io", message: "Docker Hub cannot be reached (offline?): error sending request" };
  }
  async hubRepositories() {
    this.call("hubRepositories");
    this.hubOffline();
    if (!this.data.account) throw { code: "not_found", message: "not signed in to https://index.docker.io/v1/" };
    return structuredClone(this.data.hubRepositories);
  }
  async hubSearch(query: string): Promise<HubSearchResult[]> {
    this.call(`hubSearch:${query}`);
    this.hubOffline();
    return [{ repo_name: query, short_description: `The ${query} image`, star_count: 42, pull_count: 1_000_000, is_official: true }];
  }

  // Settings: a stand-in for berth-core's rules, enough to show field errors.
  private checkSettings(values: Record<string, string>, folders: string[]): SettingsFieldError[] {
    const errors: SettingsFieldError[] = [];
    const int = (key: string, min: number, max: number, unit = "") => {
      const v = values[key];
      if (v === undefined) return;
      if (!/^\d+$/.test(v.trim())) errors.push({ field: key, message: `invalid type: string "${v}", expected u32` });
      else if (+v < min || +v > max) errors.push({ field: key, message: `must be between ${min} and ${max}${unit}, got ${v}` });
    };
    int("vm.cpus", 1, 64);
    int("vm.memory_mib", 512, 262144, " MiB");
    int("vm.disk_gib", 8, 4096, " GiB");
    const addr = values["ports.bind_address"];
    if (addr !== undefined && !/^(\d{1,3}\.){3}\d{1,3}$|:/.test(addr.trim())) {
      errors.push({ field: "ports.bind_address", message: `must be an IP address such as 127.0.0.1 or 0.0.0.0, got "${addr}"` });
    }
    if (this.settings.hasDataDisk && values["vm.disk_gib"] !== undefined && +values["vm.disk_gib"] < +this.settings.values["vm.disk_gib"]) {
      errors.push({ field: "vm.disk_gib", message: "the data disk can only grow" });
    }
    const idle = values["engine.pause_when_idle"]?.trim();
    if (idle !== undefined && !/^(0|off|\d+[smh])$/.test(idle)) {
      errors.push({ field: "engine.pause_when_idle", message: `"${idle}" is not a duration: write it like "20s", "5m" or "1h", or "0" to never pause` });
    }
    const language = values["app.language"];
    if (language !== undefined && !["system", "en", "ja"].includes(language)) {
      errors.push({ field: "app.language", message: `unknown variant \`${language}\`, expected one of \`system\`, \`en\`, \`ja\`` });
    }
    folders.forEach((f, i) => {
      if (f.trim() && !f.trim().startsWith("/")) errors.push({ field: `shared_folders[${i}]`, message: `must be an absolute path, got "${f}"` });
    });
    return errors;
  }
  async getSettings() { this.call("getSettings"); return structuredClone(this.settings); }
  async validateSettings(values: Record<string, string>, sharedFolders: string[]) {
    this.call("validateSettings");
    return this.checkSettings(values, sharedFolders);
  }
  async saveSettings(values: Record<string, string>, sharedFolders: string[]): Promise<SettingsSaved> {
    this.call("saveSettings");
    const fieldErrors = this.checkSettings(values, sharedFolders);
    if (fieldErrors.length) return { fieldErrors, restartNeeded: [], warnings: [] };
    const restartKeys = ["vm.cpus", "vm.memory_mib", "vm.disk_gib", "ports.bind_address"];
    const restartNeeded = restartKeys.filter((k) => values[k] !== undefined && values[k] !== this.settings.values[k]);
    const folders = sharedFolders.map((f) => f.trim()).filter(Boolean);
    if (folders.join("\n") !== this.settings.sharedFolders.join("\n")) restartNeeded.push("shared_folders");
    this.settings = { ...this.settings, values: { ...this.settings.values, ...values }, sharedFolders: folders };
    return { fieldErrors: [], restartNeeded, warnings: this.loginItemFails && values["app.start_at_login"] === "true" ? ["Saved, but Berth could not be added to the programs that start at login: no home folder"] : [] };
  }

  // Learn
  /** Two small fake lessons and the one in progress. */
  learn = new MockLearn();
  async learnLessons() { this.call("learnLessons"); return this.learn.lessons(); }
  async learnStart(id: string, params: Record<string, string> = {}) { this.call(`learnStart:${id}`); return this.learn.start(id, params); }
  async learnStep() { this.call("learnStep"); return this.learn.step(); }
  async learnRunStep() { this.call("learnRunStep"); return this.learn.runStep(); }
  async learnLeave() { this.call("learnLeave"); return this.learn.leave(); }

  // Engines
  engines = new MockEngines();
  async listEngines() { this.call("listEngines"); return structuredClone(this.engines.list); }
  async addRemoteEngine(form: RemoteEngineForm) { this.call(`addRemoteEngine:${form.name}:${form.address}`); return this.engines.add(form); }
  async useEngine(name: string) { this.call(`useEngine:${name}`); this.engines.use(name); }
  async removeEngine(name: string) { this.call(`removeEngine:${name}`); this.engines.remove(name); }
  async followedEngine() { this.call("followedEngine"); return this.engines.followed; }
  async switchEngine(name: string) {
    this.call(`switchEngine:${name}`);
    this.engines.use(name);
    this.engines.followed = name;
    // The window's stores reload when the engine comes up again.
    this.setState({ state: "starting", phase: "waiting_for_engine" });
    this.setState({ state: "running", since: new Date().toISOString() });
  }

  // Swarm
  swarm = new MockSwarm();
  async swarmOverview() { this.call("swarmOverview"); return this.swarm.overview(); }
  async swarmInit(addr: string | null) { this.call(`swarmInit:${addr ?? ""}`); const id = this.swarm.init(); this.emit("node", "create", id); return id; }
  async swarmTasks(service: string) { this.call(`swarmTasks:${service}`); return this.swarm.tasks(service); }
  async swarmScale(service: string, replicas: number) {
    this.call(`swarmScale:${service}:${replicas}`);
    this.swarm.scale(service, replicas);
    this.emit("service", "update", service);
  }
  async swarmUpdateImage(service: string, image: string) {
    this.call(`swarmUpdateImage:${service}:${image}`);
    this.swarm.updateImage(service, image);
    this.emit("service", "update", service);
  }
  async swarmSetAvailability(node: string, availability: "active" | "pause" | "drain") {
    this.call(`swarmSetAvailability:${node}:${availability}`);
    this.swarm.node.availability = availability;
    this.emit("node", "update", node);
  }
  async swarmAutoscaleRules() { this.call("swarmAutoscaleRules"); return structuredClone(this.swarm.rules); }
  async swarmSetAutoscale(service: string, min: number, max: number, cpuPercent: number) {
    this.call(`swarmSetAutoscale:${service}:${min}:${max}:${cpuPercent}`);
    return this.swarm.setRule(service, min, max, cpuPercent);
  }
  async swarmAutoscaleOff(service: string) { this.call(`swarmAutoscaleOff:${service}`); return this.swarm.ruleOff(service); }
  async swarmAutoscaleHistory() { this.call("swarmAutoscaleHistory"); return structuredClone(this.swarm.decisions); }
  async swarmObjects(kind: SwarmObjectKind) { this.call(`swarmObjects:${kind}`); return this.swarm.objectsOf(kind); }
  async swarmCreateObject(kind: SwarmObjectKind, name: string, data: Uint8Array) {
    this.call(`swarmCreateObject:${kind}:${name}:${new TextDecoder().decode(data)}`);
    const id = this.swarm.createObject(kind, name);
    this.emit(kind, "create", id);
    return id;
  }
  async swarmRemoveObject(kind: SwarmObjectKind, name: string) {
    this.call(`swarmRemoveObject:${kind}:${name}`);
    this.swarm.removeObject(kind, name);
    this.emit(kind, "remove", name);
  }
  async swarmJoin(remoteAddr: string, token: string, advertiseAddr: string | null) {
    this.call(`swarmJoin:${remoteAddr}:${token}:${advertiseAddr ?? ""}`);
    this.swarm.join(remoteAddr, token);
    this.emit("node", "update", "node-1");
  }
  async swarmJoinTokens() { this.call("swarmJoinTokens"); return { worker: "SWMTKN-1-worker", manager: "SWMTKN-1-manager" }; }

  // Troubleshoot
  async readLog(source: LogSource): Promise<LogTail> {
    this.call(`readLog:${source}`);
    const text = this.logs[source];
    return { files: text ? [`/home/u/.berth/logs/${source === "berth" ? "daemon.log" : "console.log"}`] : [], text, truncated: false };
  }
  async cleanUp(volumes: boolean): Promise<CleanUpSummary> {
    this.call(`cleanUp:${volumes}`);
    const stopped = this.data.containers.filter((c) => c.state !== "running");
    this.data.containers = this.data.containers.filter((c) => c.state === "running");
    for (const c of stopped) this.emit("container", "destroy", c.id);
    const step = (deleted: number, spaceReclaimed: number) => ({ deleted, spaceReclaimed });
    const containers = step(stopped.length, stopped.length * 1024);
    return { containers, images: step(0, 0), networks: step(0, 0), buildCache: step(0, 0),
      volumes: volumes ? step(0, 0) : null, spaceReclaimed: containers.spaceReclaimed };
  }
  async createDiagnostics(path: string | null): Promise<DiagnosticsBundle> {
    this.call(`createDiagnostics:${path ?? "default"}`);
    return { path: path ?? "/home/u/.berth/berth-diagnostics-1.tar.gz", files: ["versions.json", "settings.toml", "logs/daemon.log"], bytes: 2048 };
  }
  async factoryReset(): Promise<FactoryResetDone> {
    this.call("factoryReset");
    this.settings = mockSettings();
    this.unknownSettings = {};
    this.setState({ state: "stopped" });
    return { removed: ["/home/u/.berth/data/vm", "/home/u/.berth/config"], signedOut: [], warnings: [] };
  }
}

export function mockSettings(patch: Partial<SettingsView> = {}): SettingsView {
  return {
    values: {
      "vm.cpus": "2", "vm.memory_mib": "2048", "vm.disk_gib": "64", "ports.bind_address": "127.0.0.1",
      "app.start_engine_at_launch": "true", "app.start_at_login": "false", "app.on_quit": "ask", "app.auto_restart_engine": "false",
      "engine.pause_when_idle": "5m", "app.language": "system",
    },
    sharedFolders: [], hasDataDisk: false, ownsEngine: true, ...patch,
  };
}
