import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import SwarmPage from "./SwarmPage.svelte";
import { createSwarmStore } from "./store.svelte";
import { mockService } from "./mock";
import { eventually, freshBackend } from "../lib/test-kit";
import { setLanguage } from "../lib/i18n";

const service = (name: string) => screen.getAllByTestId("swarm-service-row").find((r) => r.dataset.name === name)!;

describe("SwarmPage", () => {
  it("offers to initialize a swarm, then shows its node", async () => {
    const b = await freshBackend();
    render(SwarmPage, { store: createSwarmStore() });
    await eventually(() => expect(screen.getByTestId("swarm-inactive")).toBeInTheDocument());
    await fireEvent.input(screen.getByTestId("swarm-advertise-addr"), { target: { value: "127.0.0.1" } });
    await fireEvent.click(screen.getByTestId("swarm-init"));
    await eventually(() => expect(screen.getAllByTestId("swarm-node-row")).toHaveLength(1));
    expect(b.calls).toContain("swarmInit:127.0.0.1");
    expect(screen.getByTestId("swarm-state")).toHaveTextContent("Manager");
  });

  it("lists stacks and services, shows a service's tasks with their errors and scales it", async () => {
    const b = await freshBackend();
    b.swarm.active = true;
    b.swarm.services = [mockService("app_web", 3), mockService("app_api", null)];
    render(SwarmPage, { store: createSwarmStore() });
    await eventually(() => expect(screen.getAllByTestId("swarm-service-row")).toHaveLength(2));
    expect(screen.getByTestId("swarm-stack-row")).toHaveTextContent(/app\s*2 services/);
    expect(service("app_web")).toHaveTextContent("3/3");

    await fireEvent.click(screen.getByRole("button", { name: "app_api" }));
    await eventually(() => expect(screen.getAllByTestId("swarm-task-row")).toHaveLength(2));
    expect(screen.getByText("task: non-zero exit (1)")).toBeInTheDocument();
    expect(screen.queryByTestId("swarm-scale")).toBeNull();

    await fireEvent.click(screen.getByRole("button", { name: "app_web" }));
    await eventually(() => expect(screen.getAllByTestId("swarm-task-row")).toHaveLength(3));
    await fireEvent.input(screen.getByTestId("swarm-scale-input"), { target: { value: "5" } });
    await fireEvent.click(screen.getByTestId("swarm-scale"));
    await eventually(() => expect(service("app_web")).toHaveTextContent("5/5"));
    await eventually(() => expect(screen.getAllByTestId("swarm-task-row")).toHaveLength(5));
    expect(b.calls).toContain("swarmScale:app_web:5");
  });

  it("drains a node, updates a service's image, and sets, shows and removes an autoscale rule", async () => {
    const b = await freshBackend();
    b.swarm.active = true;
    b.swarm.services = [mockService("app_web", 2)];
    b.swarm.decisions = [{ at: "2026-12-07T08:00:05Z", service: "app_web", from: 1, to: 2, cpuPercent: 90, measuredTasks: 1,
      reason: "CPU 90% per task is above the target 50%: 1 x 90 / 50 wants 2" }];
    render(SwarmPage, { store: createSwarmStore() });
    await fireEvent.click(await screen.findByTestId("swarm-node-drain"));
    await eventually(() => expect(screen.getByTestId("swarm-node-activate")).toBeInTheDocument());
    expect(b.calls).toContain("swarmSetAvailability:node-1:drain");

    await fireEvent.click(screen.getByRole("button", { name: "app_web" }));
    await fireEvent.input(screen.getByTestId("swarm-image-input"), { target: { value: "busybox:v2" } });
    await fireEvent.click(screen.getByTestId("swarm-update-image"));
    await eventually(() => expect(service("app_web")).toHaveTextContent("busybox:v2"));
    expect(service("app_web")).toHaveTextContent("completed");

    expect(screen.getByTestId("swarm-decision")).toHaveTextContent("1 → 2: CPU 90% per task is above the target 50%");
    await fireEvent.input(screen.getByLabelText("Min"), { target: { value: "3" } });
    await fireEvent.input(screen.getByLabelText("Max"), { target: { value: "2" } });
    await fireEvent.click(screen.getByTestId("swarm-autoscale-set"));
    await eventually(() => expect(screen.getByText(/--max \(2\) must not be below --min \(3\)/)).toBeInTheDocument());
    await fireEvent.input(screen.getByLabelText("Min"), { target: { value: "1" } });
    await fireEvent.input(screen.getByLabelText("Max"), { target: { value: "4" } });
    await fireEvent.input(screen.getByLabelText("CPU %"), { target: { value: "60" } });
    await fireEvent.click(screen.getByTestId("swarm-autoscale-set"));
    await eventually(() => expect(screen.getByTestId("swarm-autoscale-rule")).toHaveTextContent("1 to 4 replicas, CPU target 60% per task"));
    await fireEvent.click(screen.getByTestId("swarm-autoscale-off"));
    await eventually(() => expect(screen.queryByTestId("swarm-autoscale-rule")).toBeNull());
    expect(b.calls).toContain("swarmAutoscaleOff:app_web");
  });

  it("creates secrets from text, never shows their data, and refuses to remove one in use", async () => {
    const b = await freshBackend();
    b.swarm.active = true;
    b.swarm.services = [mockService("app_web", 1)];
    render(SwarmPage, { store: createSwarmStore() });
    await fireEvent.input(await screen.findByTestId("swarm-object-name"), { target: { value: "db_password" } });
    await fireEvent.input(screen.getByTestId("swarm-object-text"), { target: { value: "hunter2" } });
    await fireEvent.click(screen.getByTestId("swarm-object-create"));
    await eventually(() => expect(screen.getAllByTestId("swarm-object-row")).toHaveLength(1));
    expect(b.calls).toContain("swarmCreateObject:secret:db_password:hunter2");
    expect(screen.queryByText(/hunter2/)).toBeNull();

    b.swarm.usedBy["db_password"] = "app_web";
    await fireEvent.click(screen.getByTestId("swarm-object-remove"));
    await eventually(() => expect(screen.getByText(/secret db_password is in use by service app_web/)).toBeInTheDocument());
    delete b.swarm.usedBy["db_password"];
    await fireEvent.click(screen.getByTestId("swarm-object-remove"));
    await eventually(() => expect(screen.queryAllByTestId("swarm-object-row")).toHaveLength(0));
  });

  it("joins a manager's swarm as a worker, saying why a join fails", async () => {
    const b = await freshBackend();
    render(SwarmPage, { store: createSwarmStore() });
    await fireEvent.input(await screen.findByTestId("swarm-join-addr"), { target: { value: "unreachable.example" } });
    await fireEvent.input(screen.getByTestId("swarm-join-token"), { target: { value: "SWMTKN-1-abc" } });
    await fireEvent.click(screen.getByTestId("swarm-join"));
    await eventually(() => expect(screen.getByText(/joining the swarm at unreachable.example failed/)).toBeInTheDocument());
    await fireEvent.input(screen.getByTestId("swarm-join-addr"), { target: { value: "192.168.1.20" } });
    await fireEvent.click(screen.getByTestId("swarm-join"));
    await eventually(() => expect(screen.getByTestId("swarm-worker")).toBeInTheDocument());
    expect(b.calls).toContain("swarmJoin:192.168.1.20:SWMTKN-1-abc:");
  });

  it("shows a manager's join command for another node", async () => {
    const b = await freshBackend();
    b.swarm.active = true;
    render(SwarmPage, { store: createSwarmStore() });
    await fireEvent.click(await screen.findByTestId("swarm-add-node"));
    await eventually(() => expect(screen.getByTestId("swarm-join-command")).toHaveTextContent("berth swarm join --token SWMTKN-1-worker 127.0.0.1:2377"));
  });

  it("speaks Japanese", async () => {
    await freshBackend();
    setLanguage("ja");
    try {
      render(SwarmPage, { store: createSwarmStore() });
      await eventually(() => expect(screen.getByTestId("swarm-init")).toHaveTextContent("Swarm を初期化"));
    } finally {
      setLanguage("en");
    }
  });
});
