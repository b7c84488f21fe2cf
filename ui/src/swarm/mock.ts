// The Swarm part of the mock backend: one engine that can become a one-node swarm, a stack's
// services with their tasks, scaled in memory.
import type {
  AutoscaleRule, AutoscaleDecision, NodeSummary, ServiceSummary, SwarmObject, SwarmObjectKind, SwarmOverview, TaskSummary,
} from "../lib/generated";

const NODE = "node-1";

export function mockService(name: string, replicas: number | null, patch: Partial<ServiceSummary> = {}): ServiceSummary {
  const stack = name.includes("_") ? name.split("_")[0] : null;
  return {
    id: `svc-${name}`, name, image: "busybox:latest", replicas,
    labels: stack ? { "com.docker.stack.namespace": stack } : {},
    mode: replicas === null ? "global" : "replicated", running: replicas ?? 1, desired: replicas ?? 1,
    ports: [], updateState: null, updateMessage: null, version: 1, ...patch,
  };
}

function task(service: ServiceSummary, slot: number, patch: Partial<TaskSummary> = {}): TaskSummary {
  return {
    id: `${service.name}-task-${slot}`, serviceId: service.id, slot, nodeId: NODE, image: service.image,
    state: "running", desiredState: "running", containerId: `${service.name}-c${slot}`, error: null,
    message: "started", timestamp: null, version: service.version, ...patch,
  };
}

export class MockSwarm {
  active = false;
  node: NodeSummary = {
    id: NODE, hostname: "berth", role: "manager", availability: "active", state: "ready", message: null,
    addr: "127.0.0.1", leader: true, engineVersion: "28.2.2",
  };
  services: ServiceSummary[] = [];
  rules: AutoscaleRule[] = [];
  decisions: AutoscaleDecision[] = [];
  objects: SwarmObject[] = [];
  /** Which service uses a secret or config, by name. */
  usedBy: Record<string, string> = {};

  overview(): SwarmOverview {
    const state = {
      active: this.active, manager: this.active && this.node.role === "manager", nodeId: this.active ? NODE : null, labels: {},
      localNodeState: this.active ? "active" : "inactive", error: null, nodeAddr: this.active ? "127.0.0.1" : null,
      nodes: this.active ? 1 : null, managers: this.active ? 1 : null,
    };
    if (!state.manager) return { state, nodes: [], services: [], stacks: [] };
    const stacks = new Map<string, number>();
    for (const s of this.services) {
      const name = s.labels["com.docker.stack.namespace"];
      if (name) stacks.set(name, (stacks.get(name) ?? 0) + 1);
    }
    return {
      state, nodes: [structuredClone(this.node)], services: structuredClone(this.services),
      stacks: [...stacks].map(([name, services]) => ({ name, services })),
    };
  }

  init(): string {
    if (this.active) throw { code: "conflict", message: "this engine is already part of a swarm: leave it first (`berth swarm leave`)" };
    this.active = true;
    return NODE;
  }

  tasks(name: string): TaskSummary[] {
    const s = this.services.find((x) => x.name === name);
    if (!s) throw { code: "not_found", message: `Not found: service ${name} not found` };
    const n = s.replicas ?? 1;
    const list = Array.from({ length: n }, (_, i) => task(s, i + 1));
    if (s.name.endsWith("_api")) list.push(task(s, 1, { id: `${s.name}-failed`, state: "failed", desiredState: "shutdown", error: "task: non-zero exit (1)" }));
    return list;
  }

  scale(name: string, replicas: number) {
    const s = this.services.find((x) => x.name === name);
    if (!s) throw { code: "not_found", message: `Not found: service ${name} not found` };
    if (s.replicas === null) throw { code: "invalid_input", message: `Invalid service: ${name} is a global service: only a replicated service can be scaled` };
    s.replicas = replicas;
    s.running = replicas;
    s.desired = replicas;
  }

  updateImage(name: string, image: string) {
    const s = this.services.find((x) => x.name === name);
    if (!s) throw { code: "not_found", message: `Not found: service ${name} not found` };
    s.image = image;
    s.updateState = "completed";
    s.updateMessage = "update completed";
    s.version += 1;
  }

  setRule(service: string, min: number, max: number, cpuPercent: number): AutoscaleRule {
    if (min < 1) throw { code: "invalid_input", message: `--min must be at least 1 (a service with no task has no CPU to measure), found ${min}` };
    if (max < min) throw { code: "invalid_input", message: `--max (${max}) must not be below --min (${min})` };
    const rule = { service, min, max, cpuPercent };
    this.rules = [...this.rules.filter((r) => r.service !== service), rule];
    return rule;
  }

  ruleOff(service: string): boolean {
    const had = this.rules.some((r) => r.service === service);
    this.rules = this.rules.filter((r) => r.service !== service);
    return had;
  }

  objectsOf(kind: SwarmObjectKind): SwarmObject[] {
    return structuredClone(this.objects.filter((o) => o.kind === kind));
  }

  createObject(kind: SwarmObjectKind, name: string): string {
    if (!name.trim()) throw { code: "invalid_input", message: `Invalid name: a ${kind} needs a name` };
    if (this.objects.some((o) => o.kind === kind && o.name === name)) throw { code: "conflict", message: `Conflict: ${kind} ${name} already exists` };
    const id = `${kind}-${name}`;
    this.objects.push({ kind, id, name, labels: {}, created: "2026-12-07T08:00:00Z", version: 1 });
    return id;
  }

  removeObject(kind: SwarmObjectKind, name: string) {
    const user = this.usedBy[name];
    if (user) throw { code: "conflict", message: `${kind} ${name} is in use by service ${user}: remove it from the service first` };
    this.objects = this.objects.filter((o) => !(o.kind === kind && o.name === name));
  }

  join(remoteAddr: string, token: string) {
    if (!token.startsWith("SWMTKN-1-")) throw { code: "invalid_input", message: "the join token must be a swarm join token (SWMTKN-1-...)" };
    if (remoteAddr.startsWith("unreachable")) throw { code: "engine", message: `joining the swarm at ${remoteAddr} failed: connection refused` };
    this.active = true;
    this.node.role = "worker";
  }
}
