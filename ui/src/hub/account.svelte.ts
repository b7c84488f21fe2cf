// The signed-in Docker Hub account and the device-flow sign-in in progress, shared by the
// sidebar's account button, the Hub page and the Registries page.
import { backend, errorMessage } from "../lib/backend";
import type { Account, SignInSession } from "./types";

export class AccountState {
  account = $state<Account | null>(null);
  loaded = $state(false);
  /** The code to show while the browser approval is pending. */
  pending = $state<SignInSession | null>(null);
  starting = $state(false);
  error = $state<string | null>(null);
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.load();
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
        if (o.outcome === "signedIn") this.account = o.account;
        else this.error = o.error.message;
      });
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
      await backend().hubSignOut(null);
      this.account = null;
    } catch (e) {
      this.error = errorMessage(e);
      // Sign-out erases the credentials before revoking: whatever failed, re-read the truth.
      await this.load();
    }
  }
}

export const session = new AccountState();
