// The signed-in Docker Hub account and the device-flow sign-in in progress, shared by the
// sidebar's account button, the Hub page and the Registries page; the tray's "Sign in…" item
// starts the same sign-in.
import { backend, errorMessage } from "../lib/backend";
import { navigate } from "../lib/router.svelte";
import { t } from "../lib/i18n";
import type { Account, DockerConfigChoice, SignInSession } from "./types";

const DOCKER_CONFIG_KEY = "berth.hub.dockerConfig";
const CHOICES: DockerConfigChoice[] = ["cred-helpers", "creds-store", "none"];

function savedChoice(): DockerConfigChoice {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem(DOCKER_CONFIG_KEY) : null;
  return CHOICES.find((c) => c === saved) ?? "cred-helpers";
}

export class AccountState {
  account = $state<Account | null>(null);
  loaded = $state(false);
  /** The code to show while the browser approval is pending. */
  pending = $state<SignInSession | null>(null);
  starting = $state(false);
  error = $state<string | null>(null);
  /** How sign-ins point the docker CLI at Berth; "none" opts out (and sign-out restores). */
  dockerConfig = $state<DockerConfigChoice>(savedChoice());
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.load();
    void backend().onSignInRequested(() => void this.signInFromTray());
  }

  setDockerConfig(choice: DockerConfigChoice): void {
    this.dockerConfig = choice;
    if (typeof localStorage !== "undefined") localStorage.setItem(DOCKER_CONFIG_KEY, choice);
  }

  /** The tray's "Sign in…": show the Hub section and start the device flow (unless signed in
   * or already waiting for approval, when the Hub section is all there is to show). */
  async signInFromTray(): Promise<void> {
    navigate("/hub");
    if (this.account || this.pending || this.starting) return;
    await this.signIn();
  }

  async load(): Promise<void> {
    try {
      this.account = await backend().hubAccount();
      this.loaded = true;
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  async signIn(): Promise<void> {
    this.error = null;
    this.starting = true;
    try {
      this.pending = await backend().hubSignIn((o) => {
        this.pending = null;
        if (o.outcome === "failed") {
          this.error = o.error.message;
          return;
        }
        this.account = o.account;
        if (o.dockerConfigError) {
          this.error = t("hub.dockerConfigFailed", { error: o.dockerConfigError.message });
        }
      }, this.dockerConfig);
    } catch (e) {
      this.error = errorMessage(e);
    } finally {
      this.starting = false;
    }
  }

  cancel(): void {
    this.pending?.cancel();
    this.pending = null;
  }

  async signOut(): Promise<void> {
    this.error = null;
    try {
      await backend().hubSignOut(null, this.dockerConfig === "none");
      this.account = null;
    } catch (e) {
      this.error = errorMessage(e);
      // Sign-out erases the credentials before revoking: whatever failed, re-read the truth.
      await this.load();
    }
  }
}

export const session = new AccountState();
