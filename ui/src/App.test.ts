import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import App from "./App.svelte";
import { navigate } from "./lib/router.svelte";
import { mockContainer } from "./lib/backend/mock";
import { eventually, freshBackend } from "./lib/test-kit";

describe("App", () => {
  afterEach(() => navigate("/containers"));

  it("shows each section's page as it is loaded, and keeps a page across its own params", async () => {
    await freshBackend({ containers: [mockContainer(1, { name: "web" })] });
    render(App);
    await eventually(() => expect(screen.getByTestId("containers-page")).toBeInTheDocument());

    navigate("/networks");
    await eventually(() => expect(screen.getByTestId("networks-page")).toBeInTheDocument());
    expect(screen.queryByTestId("containers-page")).not.toBeInTheDocument();

    navigate("/containers/web/inspect");
    await eventually(() => expect(screen.getByTestId("tab-inspect")).toHaveClass("active"));
    const details = screen.getByTestId("container-details");
    navigate("/containers/web/stats");
    await eventually(() => expect(screen.getByTestId("tab-stats")).toHaveClass("active"));
    // A new tab is the same page with new params, not a reload of it.
    expect(screen.getByTestId("container-details")).toBe(details);
  });

  it("shows a paused engine in the sidebar and wakes it from the banner", async () => {
    const b = await freshBackend();
    render(App);
    await eventually(() => expect(screen.getByTestId("engine-status")).toHaveAttribute("data-state", "running"));
    await b.pauseEngine();
    await eventually(() => expect(screen.getByTestId("engine-status")).toHaveAttribute("data-state", "paused"));
    await eventually(() => expect(screen.getByTestId("banner-wake")).toBeInTheDocument());
    await fireEvent.click(screen.getByTestId("banner-wake"));
    await eventually(() => expect(b.calls).toContain("wakeEngine"));
    await eventually(() => expect(screen.getByTestId("engine-status")).toHaveAttribute("data-state", "running"));
    expect(screen.queryByTestId("banner-wake")).not.toBeInTheDocument();
  });
});
