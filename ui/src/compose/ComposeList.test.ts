import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import ComposeList from "./ComposeList.svelte";
import ComposeProjectView from "./ComposeProjectView.svelte";
import { createComposeStore } from "./store.svelte";
import { mockComposeContainer } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";
import { applyEvent } from "./upProgress";

const row = (name: string) => document.querySelector<HTMLElement>(`[data-testid=project-row][data-name='${name}']`);

describe("ComposeList", () => {
  it("lists projects made by any tool with running/total counts, and stops one", async () => {
    const b = await freshBackend({
      composeContainers: [
        mockComposeContainer("shop", "web"), mockComposeContainer("shop", "db", 1, { State: "exited" }),
        mockComposeContainer("blog", "app"),
      ],
    });
    render(ComposeList, { store: createComposeStore() });
    await eventually(() => expect(row("shop")).not.toBeNull());
    expect(within(row("shop")!).getByTestId("project-counts")).toHaveTextContent("1/2 running");
    expect(within(row("blog")!).getByTestId("project-counts")).toHaveTextContent("1/1 running");
    expect(within(row("blog")!).getByTestId("project-start")).toBeDisabled();

    await fireEvent.click(within(row("shop")!).getByTestId("project-stop"));
    await eventually(() => expect(within(row("shop")!).getByTestId("project-counts")).toHaveTextContent("0/2 running"));
    expect(b.calls).toContain("composeAction:stop:shop");
  });

  it("asks before taking a project down, then it disappears", async () => {
    const b = await freshBackend({ composeContainers: [mockComposeContainer("shop", "web")] });
    render(ComposeList, { store: createComposeStore() });
    await eventually(() => expect(row("shop")).not.toBeNull());
    await fireEvent.click(within(row("shop")!).getByTestId("project-down"));
    expect(b.calls).not.toContain("composeAction:down:shop");
    await fireEvent.click(screen.getByTestId("confirm"));
    await eventually(() => screen.getByTestId("empty-state"));
    expect(b.calls).toContain("composeAction:down:shop");
  });

  it("shows a failed action's message", async () => {
    const b = await freshBackend({ composeContainers: [mockComposeContainer("shop", "web")] });
    render(ComposeList, { store: createComposeStore() });
    await eventually(() => expect(row("shop")).not.toBeNull());
    b.failNext = { code: "engine", message: "engine said no" };
    await fireEvent.click(within(row("shop")!).getByTestId("project-restart"));
    await eventually(() => expect(screen.getByRole("alert")).toHaveTextContent("engine said no"));
  });
});

describe("Up from a file", () => {
  const file = "/home/u/shop/compose.yaml";
  const preview = {
    project: {
      name: "shop", workingDir: "/home/u/shop", warnings: ["the attribute `version` is obsolete"],
      services: [
        { name: "db", image: "postgres:16", build: false, ports: [], dependsOn: [], replicas: 1 },
        { name: "web", image: "shop-web", build: true, ports: ["8080:80/tcp"], dependsOn: ["db"], replicas: 1 },
      ],
    },
    problem: null,
  };

  it("shows the parsed services, then brings the project up with live progress", async () => {
    const b = await freshBackend({ composeFiles: { [file]: preview } });
    render(ComposeList, { store: createComposeStore() });
    await fireEvent.click(screen.getByTestId("compose-up-open"));
    expect(screen.getByTestId("compose-up")).toBeDisabled();
    await fireEvent.input(screen.getByLabelText("Compose file"), { target: { value: file } });
    await fireEvent.click(screen.getByTestId("compose-check"));
    await eventually(() => expect(screen.getAllByTestId("preview-service")).toHaveLength(2));
    expect(screen.getByTestId("compose-project-name")).toHaveTextContent("shop");
    expect(screen.getByText(/version. is obsolete/)).toBeInTheDocument();

    await fireEvent.click(screen.getByTestId("compose-up"));
    await eventually(() => screen.getByTestId("compose-up-done"));
    const progress = screen.getByTestId("compose-progress");
    expect(progress).toHaveTextContent("Container shop-web-1 started");
    expect(progress).toHaveTextContent("Network shop_default created");
    expect(b.calls).toContain(`composeUp:${file}`);
    await eventually(() => expect(within(row("shop")!).getByTestId("project-counts")).toHaveTextContent("2/2 running"));
  });

  it("shows a load error with its line and does not offer Up", async () => {
    await freshBackend({
      composeFiles: { [file]: { project: null, problem: { file, line: 7, message: `${file}:7: services.web.depends_on: undefined service "nope"` } } },
    });
    render(ComposeList, { store: createComposeStore() });
    await fireEvent.click(screen.getByTestId("compose-up-open"));
    await fireEvent.input(screen.getByLabelText("Compose file"), { target: { value: file } });
    await fireEvent.click(screen.getByTestId("compose-check"));
    const problem = await eventually(() => screen.getByTestId("compose-problem")).then(() => screen.getByTestId("compose-problem"));
    expect(problem).toHaveTextContent("Line 7");
    expect(problem).toHaveTextContent('undefined service "nope"');
    expect(screen.getByTestId("compose-up")).toBeDisabled();
  });
});

describe("ComposeProjectView", () => {
  it("shows services, containers and the combined logs of every container", async () => {
    const b = await freshBackend({
      composeContainers: [
        mockComposeContainer("shop", "web", 1, { Publishers: [{ URL: "0.0.0.0", TargetPort: 80, PublishedPort: 8080, Protocol: "tcp" }] }),
        mockComposeContainer("shop", "web", 2),
        mockComposeContainer("shop", "db", 1, { State: "exited", Status: "Exited (0)" }),
      ],
    });
    render(ComposeProjectView, { name: "shop" });
    await eventually(() => expect(screen.getAllByTestId("service-row")).toHaveLength(3));
    expect(screen.getByTestId("project-counts")).toHaveTextContent("2/3 running");
    expect(screen.getByText("8080→80/tcp")).toBeInTheDocument();
    await eventually(() => expect(screen.getByTestId("project-logs")).toHaveTextContent("shop-db-1 | db ready"));
    expect(screen.getByTestId("project-logs")).toHaveTextContent("shop-web-2 | web ready");
    expect(b.calls).toContain("streamComposeLogs:shop");

    await fireEvent.click(screen.getByTestId("project-start"));
    await eventually(() => expect(screen.getByTestId("project-counts")).toHaveTextContent("3/3 running"));
  });
});

describe("applyEvent", () => {
  it("keeps one row per resource with its latest status, and every warning", () => {
    let rows = applyEvent([], { kind: "container", name: "a-web-1", service: "web", status: "creating" });
    rows = applyEvent(rows, { kind: "warning", message: "orphan" });
    rows = applyEvent(rows, { kind: "container", name: "a-web-1", service: "web", status: "started" });
    expect(rows.map((r) => [r.label, r.status, r.done])).toEqual([["Container a-web-1", "started", true], ["orphan", "warning", true]]);
  });
});
