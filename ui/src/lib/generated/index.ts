// Hand-written mirror of the Rust boundary types, to be replaced by ts-rs output.
export type ErrorCode = "engine_unreachable" | "not_found" | "conflict" | "invalid_input" | "unauthorized" | "timeout" | "invalid_settings" | "vm_failed" | "unsupported" | "io" | "engine" | "internal";
export type StartPhase = "booting_vm" | "waiting_for_agent" | "waiting_for_engine";
export type EngineState =
  | { state: "stopped" }
  | { state: "starting"; phase: StartPhase }
  | { state: "running"; since: string }
  | { state: "stopping" }
  | { state: "error"; code: ErrorCode; message: string };
export type ApiError = { code: ErrorCode; message: string };

export type PortSummary = { ip: string | null; privatePort: number; publicPort: number | null; protocol: string };
export type ContainerSummary = {
  id: string; name: string; image: string; imageId: string; command: string; created: number; state: string; status: string;
  ports: Array<PortSummary>; labels: { [key in string]?: string }; composeProject: string | null; composeService: string | null; networks: Array<string>;
};
export type StatsSample = {
  id: string; name: string; read: string; cpuPercent: number; memoryUsage: number; memoryLimit: number;
  networkRxBytes: number; networkTxBytes: number; blockReadBytes: number; blockWriteBytes: number; pids: number;
};
export type LogStream = "stdout" | "stderr" | "stdin" | "console";
export type LogLine = { stream: LogStream; timestamp: string | null; text: string };
export type LogOptions = { follow: boolean; timestamps: boolean; tail: number | null; since: number | null; stdout: boolean; stderr: boolean };
export type ImageSummary = {
  id: string; parentId: string; repoTags: Array<string>; repoDigests: Array<string>; created: number; size: number;
  sharedSize: number; containers: number; labels: { [key in string]?: string };
};
export type PullProgress = { layerId: string | null; status: string; current: number | null; total: number | null };
export type PruneReport = { deleted: Array<string>; spaceReclaimed: number };
export type VolumeSummary = {
  name: string; driver: string; mountpoint: string; createdAt: string | null; scope: string;
  labels: { [key in string]?: string }; size: number | null; containers: Array<string>;
};
export type NetworkEndpoint = { containerId: string; name: string; ipv4Address: string; macAddress: string };
export type NetworkSummary = {
  id: string; name: string; driver: string; scope: string; internal: boolean; attachable: boolean; created: string | null;
  subnets: Array<string>; labels: { [key in string]?: string }; containers: Array<NetworkEndpoint>;
};
export type EngineEvent = { kind: string; action: string; id: string; name: string | null; attributes: { [key in string]?: string }; time: number; timeNano: number };
export type VersionInfo = {
  version: string; apiVersion: string; minApiVersion: string; negotiatedApiVersion: string; os: string; arch: string;
  kernelVersion: string; goVersion: string; gitCommit: string;
};
export type UsageTotals = { totalCount: number; active: number; size: number; reclaimable: number };
export type DiskUsage = {
  layersSize: number; images: UsageTotals; containers: UsageTotals; volumes: UsageTotals; buildCache: UsageTotals;
  volumeSizes: { [key in string]?: number };
};
export type Protocol = "tcp" | "udp" | "sctp";
export type PortBinding = { hostIp: string | null; hostPort: number | null; containerPort: number; protocol: Protocol };
export type Mount =
  | { type: "volume"; source: string | null; target: string; readOnly: boolean }
  | { type: "bind"; source: string; target: string; readOnly: boolean }
  | { type: "tmpfs"; target: string; sizeBytes: number | null };
export type RestartPolicy = string;
export type RunSpec = {
  image: string; name: string | null; cmd: Array<string> | null; entrypoint: Array<string> | null; env: { [key in string]?: string };
  ports: Array<PortBinding>; mounts: Array<Mount>; network: string | null; networkAliases: Array<string>; restart: RestartPolicy;
  labels: { [key in string]?: string }; workingDir: string | null; user: string | null; tty: boolean; stdinOpen: boolean; autoRemove: boolean;
};
export type EngineInfo = { name: string; operatingSystem: string; cpus: number; memTotal: number; version: VersionInfo };
export type FileEntry = { name: string; kind: string; size: number; mode: number; modified: number };
