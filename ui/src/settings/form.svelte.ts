// The Settings page's form: the values as text by dotted key (as `berth settings` takes them),
// checked by the backend (berth-core's rules, never copied here), saved as one change.
import { backend, errorMessage } from "../lib/backend";
import type { SettingsFieldError } from "../lib/generated";
import { setLanguage, t, type PlainKey } from "../lib/i18n";

/** Keys whose change the engine only sees after a restart: their names' keys. */
const KEY_LABELS: Record<string, PlainKey> = {
  "vm.cpus": "settings.cpus",
  "vm.memory_mib": "settings.memory",
  "vm.disk_gib": "settings.diskSize",
  "ports.bind_address": "settings.bindAddress",
  "engine.pause_when_idle": "settings.pauseWhenIdle",
  shared_folders: "settings.sharedFolders",
  "engine.endpoint": "settings.engine",
};

/** A setting's name in words (its dotted key when it has none). */
export function keyLabel(key: string): string {
  return key in KEY_LABELS ? t(KEY_LABELS[key]) : key;
}

export class SettingsForm {
  values = $state<Record<string, string>>({});
  sharedFolders = $state<string[]>([]);
  hasDataDisk = $state(false);
  ownsEngine = $state(true);
  loaded = $state(false);
  saving = $state(false);
  /** Field (dotted key, `shared_folders[1]`) -> message. */
  errors = $state<Record<string, string>>({});
  /** A failure that is not one field's (the file cannot be read, ...). */
  error = $state<string | null>(null);
  /** Saved keys the engine takes at its next start: the page offers "Restart now / Later". */
  restartNeeded = $state<string[]>([]);
  savedAt = $state<number | null>(null);
  /** Saved, but something around it did not follow (the login item). */
  warnings = $state<string[]>([]);
  private saved: string = "";
  private checkTimer: ReturnType<typeof setTimeout> | null = null;

  get dirty(): boolean {
    return this.snapshot() !== this.saved;
  }

  get valid(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  async load() {
    try {
      const view = await backend().getSettings();
      this.values = { ...view.values };
      this.sharedFolders = [...view.sharedFolders];
      this.hasDataDisk = view.hasDataDisk;
      this.ownsEngine = view.ownsEngine;
      this.saved = this.snapshot();
      this.errors = {};
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  set(key: string, value: string) {
    this.values[key] = value;
    this.scheduleCheck();
  }

  setFolder(i: number, path: string) {
    this.sharedFolders[i] = path;
    this.scheduleCheck();
  }

  addFolder(path = "") {
    this.sharedFolders.push(path);
    this.scheduleCheck();
  }

  removeFolder(i: number) {
    this.sharedFolders.splice(i, 1);
    this.scheduleCheck();
  }

  errorFor(field: string): string | undefined {
    return this.errors[field];
  }

  /** Asks the backend which fields it refuses (debounced while typing). */
  scheduleCheck(delayMs = 250) {
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => void this.check(), delayMs);
  }

  async check(): Promise<boolean> {
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = null;
    try {
      this.showErrors(await backend().validateSettings({ ...this.values }, [...this.sharedFolders]));
    } catch (e) {
      this.error = errorMessage(e);
    }
    return this.valid;
  }

  /** Saves when every field is accepted; returns whether it saved. */
  async save(): Promise<boolean> {
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.saving = true;
    this.error = null;
    try {
      const result = await backend().saveSettings({ ...this.values }, [...this.sharedFolders]);
      this.showErrors(result.fieldErrors);
      this.warnings = result.warnings;
      if (result.fieldErrors.length) return false;
      this.sharedFolders = this.sharedFolders.map((f) => f.trim()).filter(Boolean);
      this.saved = this.snapshot();
      this.savedAt = Date.now();
      this.restartNeeded = [...new Set([...this.restartNeeded, ...result.restartNeeded])];
      // The dashboard speaks the saved language at once (the tray follows in the app).
      setLanguage(this.values["app.language"]);
      return true;
    } catch (e) {
      this.error = errorMessage(e);
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** "Restart now": the engine takes the saved settings. */
  async restartNow() {
    this.error = null;
    const waiting = this.restartNeeded;
    this.restartNeeded = [];
    try {
      await backend().restartEngine();
    } catch (e) {
      this.restartNeeded = waiting;
      this.error = errorMessage(e);
    }
  }

  later() {
    this.restartNeeded = [];
  }

  private showErrors(list: SettingsFieldError[]) {
    const errors: Record<string, string> = {};
    for (const e of list) errors[e.field] ??= e.message;
    this.errors = errors;
  }

  private snapshot(): string {
    return JSON.stringify([this.values, this.sharedFolders]);
  }
}
