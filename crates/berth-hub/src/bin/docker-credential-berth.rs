//! `docker-credential-berth`: the docker CLI's credential helper, backed by Berth's keyring.
//! Set `"credsStore": "berth"` (Berth does it for you) and keep this binary on `PATH`.

use std::io::{Read, Write};
use std::process::ExitCode;

use berth_hub::credential_helper;
use berth_hub::oauth_config_from_env;
use berth_hub::secrets::{MemoryKeyring, SecretStore};
use berth_hub::Hub;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stdout = std::io::stdout().lock();
    let code = match args.first().map(String::as_str) {
        // Neither needs the keyring (and must work where none is reachable).
        None | Some("version") => {
            let store = SecretStore::new(std::sync::Arc::new(MemoryKeyring::default()), "none");
            credential_helper::run(&args, &mut std::io::empty(), &mut stdout, &store)
        }
        Some(action) => match SecretStore::open() {
            Ok(store) => {
                let mut input = String::new();
                let _ = std::io::stdin().read_to_string(&mut input);
                if action == "get" {
                    refresh_if_expiring(&store, input.trim());
                }
                credential_helper::run(&args, &mut input.as_bytes(), &mut stdout, &store)
            }
            Err(error) => {
                // The protocol: errors on stdout, exit status 1.
                let _ = writeln!(stdout, "{}", berth_hub::error_chain(&error));
                1
            }
        },
    };
    let _ = stdout.flush();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// A Hub OAuth access token lasts about an hour; refresh it before handing it out. Best effort:
/// offline, the CLI gets the stored token and the registry decides.
fn refresh_if_expiring(store: &SecretStore, server_url: &str) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let hub = Hub::new(store.clone(), oauth_config_from_env());
    let _ = runtime.block_on(hub.refresh_if_expiring(server_url));
}
