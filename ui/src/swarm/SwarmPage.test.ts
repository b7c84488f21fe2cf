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
