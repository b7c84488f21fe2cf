import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import AccountButton from "./AccountButton.svelte";
import HubPage from "./HubPage.svelte";
import RegistriesPage from "./RegistriesPage.svelte";
import { AccountState } from "./account.svelte";
import { mockAccount } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";

describe("Sign in", () => {
  it("shows the device code, then the account once approved, and signs out", async () => {
    const b = await freshBackend();
    render(AccountButton, { session: new AccountState() });
    await fireEvent.click(await eventually(() => screen.getByTestId("sign-in")).then(() => screen.getByTestId("sign-in")));
    await eventually(() => expect(screen.getByTestId("sign-in-code")).toHaveTextContent("WDJB-MJHT"));
    expect(screen.getByText("https://login.example/activate")).toBeInTheDocument();

    b.approveSignIn("alice");
    await eventually(() => expect(screen.getByTestId("account-name")).toHaveTextContent("alice"));
    expect(screen.getByTestId("account-initial")).toHaveTextContent("A");
    expect(screen.queryByTestId("sign-in-code")).toBeNull();

    await fireEvent.click(screen.getByTestId("account-menu"));
    await fireEvent.click(screen.getByTestId("sign-out"));
    await eventually(() => screen.getByTestId("sign-in"));
    expect(b.calls).toContain("hubSignOut:hub");
  });

  it("says why when the user denies, and cancel stops waiting", async () => {
    const b = await freshBackend();
    render(AccountButton, { session: new AccountState() });
    await eventually(() => screen.getByTestId("sign-in"));
    await fireEvent.click(screen.getByTestId("sign-in"));
    await eventually(() => screen.getByTestId("sign-in-code"));
    b.denySignIn();
    await eventually(() => expect(screen.getByTestId("sign-in-error")).toHaveTextContent("denied"));

    await fireEvent.click(screen.getByTestId("sign-in"));
    await eventually(() => screen.getByTestId("sign-in-code"));
    await fireEvent.click(screen.getByTestId("sign-in-cancel"));
    await eventually(() => expect(screen.queryByTestId("sign-in-code")).toBeNull());
    expect(b.calls).toContain("hubSignIn:cancel");
  });

  it("shows an account that was already signed in", async () => {
    await freshBackend({ account: mockAccount("émile") });
    render(AccountButton, { session: new AccountState() });
    await eventually(() => expect(screen.getByTestId("account-initial")).toHaveTextContent("É"));
  });
});

describe("RegistriesPage", () => {
  it("verifies a registry's token before adding it, and removes it", async () => {
    const b = await freshBackend();
    render(RegistriesPage, { session: new AccountState() });
    await fireEvent.input(screen.getByLabelText("Registry"), { target: { value: "localhost:5000" } });
    await fireEvent.input(screen.getByLabelText("User name"), { target: { value: "bob" } });
    await fireEvent.input(screen.getByLabelText("Access token or password"), { target: { value: "wrong" } });
    await fireEvent.click(screen.getByTestId("registry-add"));
    await eventually(() => expect(screen.getByTestId("registry-error")).toHaveTextContent("refused"));
    expect(screen.queryByTestId("registry-row")).toBeNull();
    expect(screen.getByLabelText("Access token or password")).toHaveValue("");

    await fireEvent.input(screen.getByLabelText("Access token or password"), { target: { value: "good-token" } });
    await fireEvent.click(screen.getByTestId("registry-add"));
    await eventually(() => expect(screen.getByTestId("registry-row")).toHaveTextContent("localhost:5000"));
    expect(screen.getByTestId("registry-row")).toHaveTextContent("access token");
    expect(b.calls).toContain("addRegistry:localhost:5000:bob");

    await fireEvent.click(screen.getByTestId("registry-remove"));
    await fireEvent.click(screen.getByTestId("confirm"));
    await eventually(() => expect(screen.queryByTestId("registry-row")).toBeNull());
    expect(b.calls).toContain("hubSignOut:localhost:5000");
  });
});

describe("HubPage", () => {
  it("lists the account's repositories and searches Hub", async () => {
    await freshBackend({
      account: mockAccount("alice"),
      hubRepositories: [{ namespace: "alice", name: "web", description: "my web app", is_private: true, star_count: 3, pull_count: 1200, last_updated: "2026-01-02T00:00:00Z" }],
    });
    render(HubPage, { session: new AccountState() });
    await eventually(() => expect(screen.getByTestId("hub-repo")).toHaveTextContent("alice/web"));
    expect(screen.getByTestId("hub-repo")).toHaveTextContent("private");
    await fireEvent.input(screen.getByTestId("hub-search"), { target: { value: "nginx" } });
    await fireEvent.submit(screen.getByTestId("hub-search").closest("form")!);
    await eventually(() => expect(within(screen.getByTestId("hub-results")).getByTestId("hub-result")).toHaveTextContent("nginx"));
  });

  it("says clearly that it is offline, for repositories and for search", async () => {
    await freshBackend({ account: mockAccount("alice"), hubOnline: false });
    render(HubPage, { session: new AccountState() });
    await eventually(() => expect(screen.getByTestId("hub-offline")).toHaveTextContent("You are offline"));
    await fireEvent.input(screen.getByTestId("hub-search"), { target: { value: "nginx" } });
    await fireEvent.submit(screen.getByTestId("hub-search").closest("form")!);
    await eventually(() => expect(screen.getAllByTestId("hub-offline")).toHaveLength(2));
    expect(screen.queryByTestId("hub-results")).toBeNull();
  });

  it("says when the sign-in lasts only until reboot (no Secret Service)", async () => {
    const note = "no Secret Service is running, so this sign-in is kept in the kernel keyutils keyring until the next reboot only";
    await freshBackend({ account: { ...mockAccount("alice"), persistenceNote: note } });
    render(HubPage, { session: new AccountState() });
    await eventually(() => expect(screen.getByTestId("hub-persistence-note")).toHaveTextContent(`No Secret Service is running, so this sign-in is kept in the kernel keyutils keyring until the next reboot only.`));
  });

  it("says nothing of reboots when the keyring keeps the sign-in", async () => {
    await freshBackend({ account: mockAccount("alice") });
    render(HubPage, { session: new AccountState() });
    await eventually(() => expect(screen.getByText(/alice/)).toBeInTheDocument());
    expect(screen.queryByTestId("hub-persistence-note")).toBeNull();
  });

  it("asks to sign in before listing repositories", async () => {
    await freshBackend();
    render(HubPage, { session: new AccountState() });
    await eventually(() => expect(screen.getByTestId("empty-state")).toHaveTextContent("Not signed in"));
  });
});

describe("Tray sign-in", () => {
  beforeEach(() => {
    localStorage.clear();
    location.hash = "#/containers";
  });

  it("opens the Hub section and starts the sign-in when the tray asks", async () => {
    const b = await freshBackend();
    render(AccountButton, { session: new AccountState() });
    await eventually(() => screen.getByTestId("sign-in"));
    expect(screen.queryByTestId("sign-in-code")).toBeNull();

    b.requestSignIn();
    await eventually(() => expect(screen.getByTestId("sign-in-code")).toHaveTextContent("WDJB-MJHT"));
    expect(location.hash).toBe("#/hub");
    expect(b.calls).toContain("hubSignIn:dockerConfig:cred-helpers");

    // A second request while the code is showing does not start another flow.
    b.requestSignIn();
    b.approveSignIn("alice");
    await eventually(() => expect(screen.getByTestId("account-name")).toHaveTextContent("alice"));
    expect(b.calls.filter((c) => c === "hubSignIn")).toHaveLength(1);
  });

  it("only shows the Hub section when already signed in", async () => {
    const b = await freshBackend({ account: mockAccount("bob") });
    render(AccountButton, { session: new AccountState() });
    await eventually(() => expect(screen.getByTestId("account-name")).toHaveTextContent("bob"));
    b.requestSignIn();
    await eventually(() => expect(location.hash).toBe("#/hub"));
    expect(b.calls).not.toContain("hubSignIn");
  });
});

describe("The docker CLI's credentials", () => {
  beforeEach(() => localStorage.clear());

  it("follow the choice on the Registries page, and opting out restores config.json on sign-out", async () => {
    const b = await freshBackend();
    const session = new AccountState();
    render(RegistriesPage, { session });
    await fireEvent.change(screen.getByTestId("docker-config"), { target: { value: "creds-store" } });
    expect(session.dockerConfig).toBe("creds-store");
    await fireEvent.input(screen.getByLabelText("Registry"), { target: { value: "localhost:5000" } });
    await fireEvent.input(screen.getByLabelText("User name"), { target: { value: "bob" } });
    await fireEvent.input(screen.getByLabelText("Access token or password"), { target: { value: "good-token" } });
    await fireEvent.click(screen.getByTestId("registry-add"));
    await eventually(() => expect(b.calls).toContain("addRegistry:dockerConfig:creds-store"));

    // Remembered: a new session starts from the saved choice.
    expect(new AccountState().dockerConfig).toBe("creds-store");

    session.setDockerConfig("none");
    await session.signIn();
    b.approveSignIn("alice");
    await eventually(() => expect(session.account?.username).toBe("alice"));
    expect(b.calls).toContain("hubSignIn:dockerConfig:none");
    await session.signOut();
    expect(b.calls).toContain("hubSignOut:restoreDockerConfig");
  });

  it("says so when signed in but config.json could not be changed", async () => {
    const b = await freshBackend();
    const session = new AccountState();
    await session.signIn();
    b.approveSignIn("alice", { code: "io", message: "config.json is read-only" });
    await eventually(() => expect(session.error).toContain("config.json is read-only"));
    expect(session.account?.username).toBe("alice");
  });
});
