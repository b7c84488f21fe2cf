// Boundary types of sign-in, registries and the Hub page, mirroring
// `src-tauri/src/commands/hub.rs` and `berth-hub`. No secret ever crosses back to the window.

export type SignInMethod = "oauth" | "token";
/** `persistenceNote`: set when the secret lasts only until reboot (no Secret Service on Linux). */
export type Account = { registry: string; username: string; method: SignInMethod; initial: string; persistenceNote?: string | null };

/** A device-flow sign-in waiting for the user's approval. */
export type SignInStarted = {
  userCode: string; verificationUri: string; browserUrl: string; expiresInSecs: number; browserOpened: boolean; streamId: number;
};
/** How the docker CLI finds Berth's credentials after a sign-in (`config.json`): `credHelpers`
 * for the registries signed in to, `credsStore` for every registry, or leave the file alone. */
export type DockerConfigChoice = "cred-helpers" | "creds-store" | "none";
export type SignInOutcome =
  | { outcome: "signedIn"; account: Account; dockerConfigError?: { code: string; message: string } | null }
  | { outcome: "failed"; error: { code: string; message: string } };
export interface SignInSession extends SignInStarted {
  cancel(): void;
}

export type HubRepository = {
  namespace: string; name: string; description: string | null; is_private: boolean; star_count: number;
  pull_count: number; last_updated: string | null;
};
export type HubSearchResult = {
  repo_name: string; short_description: string; star_count: number; pull_count: number; is_official: boolean;
};
