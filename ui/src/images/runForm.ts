// The run dialog's form and its validation: nothing is sent until every field parses.
import type { Mount, PortBinding, Protocol, RunSpec } from "../lib/generated";
import { t } from "../lib/i18n";

export interface RunForm {
  image: string;
  name: string;
  ports: string; // "8080:80, 5353:53/udp"
  env: string; // one KEY=value per line
  mounts: string; // one "source:target[:ro]" per line
  tmpfs: string; // one path per line
  network: string;
  restart: string;
  command: string;
}

export const RESTART_POLICIES = ["no", "always", "unless-stopped", "on-failure"];

export function emptyForm(image = ""): RunForm {
  return { image, name: "", ports: "", env: "", mounts: "", tmpfs: "", network: "", restart: "no", command: "" };
}

export type RunErrors = Partial<Record<keyof RunForm, string>>;

const lines = (s: string) => s.split("\n").map((l) => l.trim()).filter(Boolean);

/** Splits a command line like a shell would for simple quoting: `sh -c "echo hi"`. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of s.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

export function validateRun(f: RunForm): { spec: RunSpec | null; errors: RunErrors } {
  const errors: RunErrors = {};
  if (!f.image.trim()) errors.image = t("images.chooseImage");
  if (f.name && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(f.name.trim())) {
    errors.name = t("images.badName");
  }
  const ports: PortBinding[] = [];
  for (const p of f.ports.split(/[,\n]/).map((x) => x.trim()).filter(Boolean)) {
    const m = p.match(/^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/);
    const host = m ? Number(m[1]) : 0;
    const container = m ? Number(m[2]) : 0;
    if (!m || host < 1 || host > 65535 || container < 1 || container > 65535) {
      errors.ports = t("images.badPort", { value: p });
      break;
    }
    const protocol = (m[3] ?? "tcp") as Protocol;
    if (ports.some((x) => x.hostPort === host && x.protocol === protocol)) {
      errors.ports = t("images.portTwice", { port: host });
      break;
    }
    ports.push({ hostIp: null, hostPort: host, containerPort: container, protocol });
  }
  const env = lines(f.env);
  const badEnv = env.find((e) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(e));
  if (badEnv) errors.env = t("images.badEnv", { value: badEnv });
  const mounts: Mount[] = [];
  for (const m of lines(f.mounts)) {
    const parts = m.split(":");
    const [source, target, opt] = parts;
    if (parts.length < 2 || parts.length > 3 || !source || !target?.startsWith("/") || (opt !== undefined && opt !== "ro" && opt !== "rw")) {
      errors.mounts = t("images.badMount", { value: m });
      break;
    }
    // An absolute source is a host folder (bind); anything else names a volume.
    mounts.push(source.startsWith("/")
      ? { type: "bind", source, target, readOnly: opt === "ro" }
      : { type: "volume", source, target, readOnly: opt === "ro" });
  }
  const tmpfs = lines(f.tmpfs);
  if (tmpfs.some((t) => !t.startsWith("/"))) errors.tmpfs = t("images.tmpfsAbsolute");
  if (!RESTART_POLICIES.includes(f.restart)) errors.restart = t("images.pickRestart");
  if (Object.keys(errors).length) return { spec: null, errors };
  return {
    spec: {
      image: f.image.trim(), name: f.name.trim() || null, cmd: f.command.trim() ? splitCommand(f.command) : null,
      entrypoint: null, env: Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      ports, mounts: [...mounts, ...tmpfs.map((target): Mount => ({ type: "tmpfs", target, sizeBytes: null }))],
      network: f.network || null, networkAliases: [], restart: f.restart, labels: {}, workingDir: null, user: null,
      tty: false, stdinOpen: false, autoRemove: false,
    },
    errors,
  };
}
