import { describe, expect, it } from "vitest";
import { emptyForm, splitCommand, validateRun } from "./runForm";

describe("run form validation", () => {
  it("builds a RunSpec from a valid form", () => {
    const { spec, errors } = validateRun({
      ...emptyForm("nginx:1"), name: "web", ports: "8080:80, 5353:53/udp", env: "A=1\nB=x=y",
      mounts: "data:/data\n/home/me/src:/src:ro", tmpfs: "/tmp", restart: "unless-stopped", command: `sh -c "echo hi"`,
    });
    expect(errors).toEqual({});
    expect(spec).toMatchObject({
      image: "nginx:1", name: "web", cmd: ["sh", "-c", "echo hi"], env: { A: "1", B: "x=y" }, restart: "unless-stopped",
      ports: [
        { hostIp: null, hostPort: 8080, containerPort: 80, protocol: "tcp" },
        { hostIp: null, hostPort: 5353, containerPort: 53, protocol: "udp" },
      ],
      mounts: [
        { type: "volume", source: "data", target: "/data", readOnly: false },
        { type: "bind", source: "/home/me/src", target: "/src", readOnly: true },
        { type: "tmpfs", target: "/tmp", sizeBytes: null },
      ],
    });
  });

  it("rejects every bad field before anything is sent", () => {
    const { spec, errors } = validateRun({
      ...emptyForm(""), name: "-bad", ports: "80", env: "1X=2", mounts: "data:relative", tmpfs: "tmp", restart: "sometimes",
    });
    expect(spec).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(["env", "image", "mounts", "name", "ports", "restart", "tmpfs"]);
  });

  it("rejects out-of-range and duplicate host ports", () => {
    expect(validateRun({ ...emptyForm("a"), ports: "70000:80" }).errors.ports).toMatch(/1-65535/);
    expect(validateRun({ ...emptyForm("a"), ports: "8080:80,8080:81" }).errors.ports).toMatch(/twice/);
    expect(validateRun({ ...emptyForm("a"), ports: "8080:80,8080:80/udp" }).errors.ports).toBeUndefined();
  });

  it("splits commands with quotes", () => {
    expect(splitCommand(`a 'b c' "d e" f`)).toEqual(["a", "b c", "d e", "f"]);
    expect(validateRun(emptyForm("a")).spec?.cmd).toBeNull();
  });
});
