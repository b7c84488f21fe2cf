//! `docker-credential-berth`: the docker CLI's credential helper, backed by Berth's keyring.
//! Set `"credsStore": "berth"` (Berth does it for you) and keep this binary on `PATH`.

use std::io::Write;

use berth_hub::credential_helper;
use berth_hub::secrets::SecretStore;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stdout = std::io::stdout().lock();
    // `version` needs no keyring; everything else does.
    if args.first().map(String::as_str) == Some("version") || args.is_empty() {
        let store = berth_hub::secrets::SecretStore::new(
            std::sync::Arc::new(berth_hub::secrets::MemoryKeyring::default()),
            "version",
        );
        let code = credential_helper::run(&args, &mut std::io::stdin().lock(), &mut stdout, &store);
        std::process::exit(code);
    }
    let store = match SecretStore::open() {
        Ok(store) => store,
        Err(error) => {
            // The protocol: errors on stdout, exit status 1.
            let _ = writeln!(stdout, "{}", berth_hub::error_chain(&error));
            std::process::exit(1);
        }
    };
    let code = credential_helper::run(&args, &mut std::io::stdin().lock(), &mut stdout, &store);
    let _ = stdout.flush();
    std::process::exit(code);
}
