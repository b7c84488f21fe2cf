//! Sign-in and credentials: Docker Hub through OAuth (device flow, or browser + PKCE), any
//! registry through a user name and personal access token checked against its `/v2/`
//! challenge, every secret in the OS keyring, and `docker-credential-berth` so the stock
//! `docker` CLI uses the same credentials.
//!
//! The dashboard and the CLI use [`Hub`]; the rest is the protocol pieces it is made of.

pub mod account;
pub mod browser;
pub mod challenge;
pub mod claims;
pub mod credential_helper;
pub mod docker_config;
pub mod hub_api;
pub mod oauth;
pub mod pkce;
pub mod provider;
pub mod registry_auth;
pub mod registry_key;
pub mod secrets;
pub mod sensitive;
#[cfg(any(test, feature = "test-server"))]
pub mod test_server;

pub use account::{Account, DeviceSignIn, Hub, HubError, SignInMethod, SignInPrompt};
pub use oauth::{DeviceLogin, OAuthConfig};
pub use provider::oauth_config_from_env;
pub use registry_key::DOCKER_HUB;
pub use sensitive::Sensitive;

/// An error and its sources, joined with `: ` (each message says only its own part).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
