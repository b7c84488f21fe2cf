//! The registry credentials a pull or push sends the engine (`X-Registry-Auth`): the ones the
//! user signed in with, read from the OS keyring for the image's registry.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use berth_engine::images::RegistryAuth;
use berth_hub::secrets::RegistryCredential;
use berth_hub::Hub;

use crate::Berth;

/// [`Berth::registry_credentials`] as a value to hand over (berth-compose's `CredentialsFn`).
pub type CredentialsLookup =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Option<RegistryAuth>> + Send>> + Send + Sync>;

impl Berth {
    /// The stored credentials for pulling or pushing `image`, or `None` to go anonymously (not
    /// signed in to its registry, or no keyring: a public image must still pull). An OAuth
    /// access token about to expire is refreshed first.
    pub async fn registry_credentials(&self, image: &str) -> Option<RegistryAuth> {
        let hub = match Hub::for_paths(self.paths()) {
            Ok(hub) => hub,
            Err(e) => {
                tracing::warn!(error = %berth_hub::error_chain(&e), "no keyring: pulling without credentials");
                return None;
            }
        };
        match hub.fresh_credentials_for_image(image).await {
            Ok(credential) => credential.map(|c| registry_auth(&c)),
            Err(e) => {
                tracing::warn!(error = %berth_hub::error_chain(&e), "cannot read registry credentials");
                None
            }
        }
    }
}

impl Berth {
    /// The credentials lookup for code that pulls on its own (compose `pull` and `up`).
    pub fn credentials_lookup(&self) -> CredentialsLookup {
        let berth = Arc::new(self.clone());
        Arc::new(move |image: String| {
            let berth = Arc::clone(&berth);
            Box::pin(async move { berth.registry_credentials(&image).await })
        })
    }
}

/// What the engine wants: a user name and password (an OAuth access token goes in the password,
/// as the docker CLI sends it for Docker Hub), and the server as the credentials key spells it.
pub fn registry_auth(credential: &RegistryCredential) -> RegistryAuth {
    RegistryAuth {
        username: Some(credential.username.clone()),
        password: Some(credential.secret.expose().clone()),
        identity_token: None,
        server_address: Some(berth_hub::registry_key::registry_key(
            &credential.server_url,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_hub::Sensitive;

    #[test]
    fn a_stored_credential_becomes_the_engines_basic_auth() {
        let auth = registry_auth(&RegistryCredential {
            server_url: "docker.io".into(),
            username: "alice".into(),
            secret: Sensitive::new("access-token".into()),
        });
        assert_eq!(auth.username.as_deref(), Some("alice"));
        assert_eq!(auth.password.as_deref(), Some("access-token"));
        assert_eq!(auth.identity_token, None);
        assert_eq!(
            auth.server_address.as_deref(),
            Some("https://index.docker.io/v1/")
        );
    }
}
