// Boundary types of the Compose section, mirroring `src-tauri/src/commands/compose.rs` and the
// `berth-compose` structs it returns. `ComposeProject`/`ComposeContainer` keep the PascalCase of
// `docker compose ls/ps --format json`, which those structs also serve.

export type ComposeProject = {
  Name: string; Status: string; Running: number; Total: number; ConfigFiles: string; WorkingDir: string;
};
export type ComposePublisher = { URL: string; TargetPort: number; PublishedPort: number; Protocol: string };
export type ComposeContainer = {
  ID: string; Name: string; Image: string; Command: string; Project: string; Service: string; Number: number;
  State: string; Health: string; Status: string; Created: number; Publishers: ComposePublisher[];
};
export type ProjectAction = "start" | "stop" | "restart" | "down";
export type ProjectLogLine = {
  container: string; service: string; stream: "stdout" | "stderr" | "stdin" | "console"; timestamp: string | null; text: string;
};

export type ServicePreview = { name: string; image: string; build: boolean; ports: string[]; dependsOn: string[]; replicas: number };
export type ProjectPreview = { name: string; workingDir: string; services: ServicePreview[]; warnings: string[] };
export type LoadProblem = { file: string | null; line: number | null; message: string };
export type ComposePreview = { project: ProjectPreview | null; problem: LoadProblem | null };

export type ComposeStatus =
  | "creating" | "created" | "exists" | "pulling" | "pulled" | "building" | "built" | "recreate" | "recreated"
  | "starting" | "started" | "running" | "waiting" | "healthy" | "exited" | "stopping" | "stopped" | "removing" | "removed";
export type ComposeEvent =
  | { kind: "network" | "volume" | "image"; name: string; status: ComposeStatus }
  | { kind: "container"; name: string; service: string; status: ComposeStatus }
  | { kind: "warning"; message: string };
