// The Engines part of the mock backend: Berth's engine, the remotes added, docker contexts.
import type { EngineEntry } from "../lib/generated";
import type { RemoteEngineForm } from "../lib/backend/types";

export function mockEngine(name: string, patch: Partial<EngineEntry> = {}): EngineEntry {
  return {
    name, kind: "context", endpoint: `unix:///run/${name}.sock`, tls: false, current: false, readOnly: true,
    reachable: true, paused: false, version: "28.2.2", error: null, ...patch,
  };
}

/** Remotes that answer the connection test, by address; any other address is unreachable. */
export class MockEngines {
  list: EngineEntry[] = [
    mockEngine("berth", { kind: "berth", endpoint: "unix:///home/u/.berth/run/docker.sock", readOnly: false, current: true }),
    mockEngine("default", { endpoint: "unix:///var/run/docker.sock", reachable: false, version: null,
      error: { code: "engine_unreachable", message: "Engine unreachable at unix:///var/run/docker.sock" } }),
  ];
  answering = new Set<string>(["ssh://me@build.example"]);
  /** The engine the window follows. */
  followed: string | null = "berth";

  add(form: RemoteEngineForm): EngineEntry {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/.test(form.name)) throw { code: "invalid_input", message: `invalid engine name "${form.name}"` };
    if (this.list.some((e) => e.name === form.name)) throw { code: "conflict", message: `an engine or docker context named ${form.name} exists already` };
    if (!this.answering.has(form.address)) {
      throw { code: "engine_unreachable", message: `Remote engine unreachable at ${form.address}: ssh: connect to host: Connection refused` };
    }
    const entry = mockEngine(form.name, { kind: "remote", endpoint: form.address, readOnly: false, tls: !!form.tlsCa });
    this.list.push(entry);
    return entry;
  }

  use(name: string) {
    if (!this.list.some((e) => e.name === name)) throw { code: "not_found", message: `no engine named ${name}` };
    for (const e of this.list) e.current = e.name === name;
  }

  remove(name: string) {
    const e = this.list.find((x) => x.name === name);
    if (!e || e.kind !== "remote") throw { code: "invalid_input", message: `${name} is not a remote engine Berth added` };
    this.list = this.list.filter((x) => x.name !== name);
  }
}
