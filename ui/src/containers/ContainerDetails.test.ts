import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/svelte";
import ContainerDetails from "./ContainerDetails.svelte";
import { mockContainer, mockPortWarning } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("ContainerDetails", () => {
  it("says which published port is not on the host and why, until the daemon clears it", async () => {
    const b = await freshBackend({
      containers: [mockContainer(1, { name: "web", ports: [{ ip: "0.0.0.0", privatePort: 80, publicPort: 8080, protocol: "tcp" }] })],
    });
    b.portWarningList = [mockPortWarning("c00000000001", 8080)];
    render(ContainerDetails, { id: "c00000000001", tab: "inspect" });
    await eventually(() => expect(screen.getByTestId("port-warning-detail")).toBeInTheDocument());
    const detail = screen.getByTestId("port-warning-detail");
    expect(detail).toHaveTextContent("Port 8080 on 127.0.0.1 is not published on the host.");
    expect(detail).toHaveTextContent("already in use on this computer");
    b.setPortWarnings([]);
    await eventually(() => expect(screen.queryByTestId("port-warning-detail")).toBeNull());
  });
});
