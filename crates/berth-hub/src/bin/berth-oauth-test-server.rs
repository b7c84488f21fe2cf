//! The local OAuth provider of `berth_hub::test_server`, as a process: for UI-tier tests and
//! manual checks. Prints its base URL on stdout, then serves until stdin closes.
//!
//! `cargo run -p berth-hub --features test-server --bin berth-oauth-test-server`
//! then point Berth at it: `BERTH_OAUTH_BASE_URL=<url> BERTH_OAUTH_CLIENT_ID=berth-test-client`.
//! Approve a code with `GET <url>/activate?user_code=...` (deny: `/deny?user_code=...`).

use std::io::Read;

use berth_hub::test_server::{OAuthTestServer, ServerOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut options = ServerOptions::default();
    if let Ok(user) = std::env::var("BERTH_TEST_OAUTH_USER") {
        options.username = user;
    }
    let server = OAuthTestServer::start(options).await?;
    println!("{}", server.base_url());
    // Serve until whoever started us closes our stdin (or dies).
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    drop(server);
    Ok(())
}
