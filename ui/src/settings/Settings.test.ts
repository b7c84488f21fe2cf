import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import SettingsPage from "./SettingsPage.svelte";
import { SettingsForm } from "./form.svelte";
import { mockSettings } from "../lib/backend/mock";
import { eventually, freshBackend } from "../lib/test-kit";
import { i18n, setLanguage } from "../lib/i18n";

describe("settings form", () => {
  it("loads the values and saves only a change, naming the keys that need a restart", async () => {
    const b = await freshBackend();
    const form = new SettingsForm();
    await form.load();
    expect(form.values["vm.cpus"]).toBe("2");
    expect(form.dirty).toBe(false);
    form.set("vm.cpus", "4");
    form.set("app.start_at_login", "true");
    expect(form.dirty).toBe(true);
    expect(await form.save()).toBe(true);
    expect(form.restartNeeded).toEqual(["vm.cpus"]);
    expect(b.settings.values["vm.cpus"]).toBe("4");
    expect(b.settings.values["app.start_at_login"]).toBe("true");
    expect(form.dirty).toBe(false);
  });

  it("asks the backend which fields are refused and saves nothing then", async () => {
    const b = await freshBackend();
    const form = new SettingsForm();
    await form.load();
    form.set("vm.memory_mib", "10");
    form.set("ports.bind_address", "localhost");
    form.addFolder("relative/dir");
    expect(await form.check()).toBe(false);
    expect(b.calls).toContain("validateSettings");
    expect(Object.keys(form.errors).sort()).toEqual(["ports.bind_address", "shared_folders[0]", "vm.memory_mib"]);
    expect(await form.save()).toBe(false);
    expect(b.settings.values["vm.memory_mib"]).toBe("2048");
    form.set("vm.memory_mib", "4096");
    form.set("ports.bind_address", "0.0.0.0");
    form.setFolder(0, "/home/u/src");
    expect(await form.save()).toBe(true);
    expect(form.errors).toEqual({});
    expect(b.settings.sharedFolders).toEqual(["/home/u/src"]);
    expect(form.restartNeeded.sort()).toEqual(["ports.bind_address", "shared_folders", "vm.memory_mib"]);
  });

  it("Restart now restarts through the backend; Later only dismisses", async () => {
    const b = await freshBackend();
    const form = new SettingsForm();
    await form.load();
    form.set("vm.cpus", "3");
    await form.save();
    form.later();
    expect(form.restartNeeded).toEqual([]);
    expect(b.calls).not.toContain("restartEngine");
    form.set("vm.cpus", "5");
    await form.save();
    await form.restartNow();
    expect(b.calls).toContain("restartEngine");
    expect(form.restartNeeded).toEqual([]);
  });

  it("a failed restart keeps the offer and says why", async () => {
    const b = await freshBackend();
    const form = new SettingsForm();
    await form.load();
    form.set("vm.cpus", "3");
    await form.save();
    b.failNext = { code: "engine_unreachable", message: "the daemon is not running" };
    await form.restartNow();
    expect(form.error).toBe("the daemon is not running");
    expect(form.restartNeeded).toEqual(["vm.cpus"]);
  });
});

describe("settings page", () => {
  it("shows each field, a message per refused field, and the restart offer after saving", async () => {
    const b = await freshBackend();
    b.settings = mockSettings({ hasDataDisk: true });
    render(SettingsPage);
    const cpus = await screen.findByLabelText("CPUs");
    expect(cpus).toHaveValue("2");
    expect(screen.getByText(/It can only grow/)).toBeInTheDocument();
    expect(screen.getByTestId("bind-explainer")).toHaveTextContent("127.0.0.1:8080");
    expect(screen.getByTestId("bind-explainer")).toHaveTextContent("Only this computer can reach it");
    expect(screen.getByText(/your home folder is shared/)).toBeInTheDocument();

    await fireEvent.input(cpus, { target: { value: "0" } });
    await fireEvent.input(screen.getByLabelText("Disk size"), { target: { value: "32" } });
    await fireEvent.click(screen.getByTestId("settings-save"));
    await eventually(() => expect(screen.getAllByTestId("field-error")).toHaveLength(2));
    expect(document.querySelector("[data-field='vm.cpus']")).toHaveTextContent("CPUs: must be between 1 and 64, got 0");
    expect(document.querySelector("[data-field='vm.disk_gib']")).toHaveTextContent("can only grow");
    expect(screen.queryByTestId("restart-needed")).toBeNull();

    await fireEvent.input(cpus, { target: { value: "6" } });
    await fireEvent.input(screen.getByLabelText("Disk size"), { target: { value: "128" } });
    await fireEvent.change(screen.getByLabelText("Binding choice"), { target: { value: "0.0.0.0" } });
    await eventually(() => expect(screen.getByTestId("bind-explainer")).toHaveTextContent("Other machines on your network can reach it"));
    await fireEvent.click(screen.getByTestId("settings-save"));
    await eventually(() => expect(screen.getByTestId("restart-needed")).toHaveTextContent("CPUs, Disk size, Port binding address"));
    expect(screen.queryAllByTestId("field-error")).toHaveLength(0);
    await fireEvent.click(screen.getByTestId("restart-now"));
    await eventually(() => expect(b.calls).toContain("restartEngine"));
    await eventually(() => expect(screen.queryByTestId("restart-needed")).toBeNull());
  });

  it("saves application choices without a restart offer", async () => {
    const b = await freshBackend();
    render(SettingsPage);
    const login = await screen.findByLabelText(/Start Berth at login/);
    await fireEvent.click(login);
    await fireEvent.change(screen.getByLabelText("When you quit Berth"), { target: { value: "keep_running" } });
    await fireEvent.click(screen.getByTestId("settings-save"));
    await eventually(() => expect(screen.getByTestId("settings-saved")).toBeInTheDocument());
    expect(b.settings.values["app.start_at_login"]).toBe("true");
    expect(b.settings.values["app.on_quit"]).toBe("keep_running");
    expect(screen.queryByTestId("restart-needed")).toBeNull();
    expect(screen.queryByTestId("settings-warning")).toBeNull();
  });

  it("says so when the login item cannot be added, keeping the setting saved", async () => {
    const b = await freshBackend();
    b.loginItemFails = true;
    render(SettingsPage);
    await fireEvent.click(await screen.findByLabelText(/Start Berth at login/));
    await fireEvent.click(screen.getByTestId("settings-save"));
    await eventually(() => expect(screen.getByTestId("settings-warning")).toHaveTextContent("could not be added to the programs that start at login"));
    expect(b.settings.values["app.start_at_login"]).toBe("true");
  });

  it("checks the idle pause like any field and saves it", async () => {
    const b = await freshBackend();
    render(SettingsPage);
    const idle = await screen.findByLabelText("Pause the engine when idle for");
    expect(idle).toHaveValue("5m");
    expect(screen.getByText(/0 never pauses/)).toBeInTheDocument();
    await fireEvent.input(idle, { target: { value: "soon" } });
    await fireEvent.click(screen.getByTestId("settings-save"));
    await eventually(() => expect(document.querySelector("[data-field='engine.pause_when_idle']")).toHaveTextContent("is not a duration"));
    expect(b.settings.values["engine.pause_when_idle"]).toBe("5m");
    await fireEvent.input(idle, { target: { value: "20s" } });
    await fireEvent.click(screen.getByTestId("settings-save"));
    await eventually(() => expect(screen.getByTestId("settings-saved")).toBeInTheDocument());
    expect(b.settings.values["engine.pause_when_idle"]).toBe("20s");
  });
});

describe("the language choice", () => {
  afterEach(() => setLanguage("system"));

  it("switches the page to Japanese once saved, without a reload, and back", async () => {
    const b = await freshBackend();
    render(SettingsPage);
    const language = await screen.findByTestId("settings-language");
    expect(language).toHaveValue("system");
    expect(screen.getByRole("option", { name: "System language (English)" })).toBeInTheDocument();
    await fireEvent.change(language, { target: { value: "ja" } });
    // Chosen, not yet saved: still English.
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Settings");
    await fireEvent.click(screen.getByTestId("settings-save"));
    await eventually(() => expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("設定"));
    expect(b.settings.values["app.language"]).toBe("ja");
    expect(i18n.locale).toBe("ja");
    expect(screen.getByTestId("settings-saved")).toHaveTextContent("保存しました");
    expect(screen.getByLabelText("言語")).toHaveValue("ja");
    expect(screen.queryByTestId("restart-needed")).toBeNull();

    await fireEvent.change(screen.getByLabelText("言語"), { target: { value: "system" } });
    await fireEvent.click(screen.getByTestId("settings-save"));
    await eventually(() => expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Settings"));
    expect(i18n.locale).toBe("en");
  });
});
