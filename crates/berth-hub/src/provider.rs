//! Which identity provider Berth signs in with: Docker Hub's, unless the environment names
//! another (tests, or another Auth0-style tenant).

use crate::oauth::OAuthConfig;

/// Override Docker Hub's identity provider (tests, or another Auth0-style tenant).
pub const OAUTH_BASE_URL_VAR: &str = "BERTH_OAUTH_BASE_URL";
pub const OAUTH_CLIENT_ID_VAR: &str = "BERTH_OAUTH_CLIENT_ID";
pub const OAUTH_AUDIENCE_VAR: &str = "BERTH_OAUTH_AUDIENCE";

pub fn oauth_config_from_env() -> OAuthConfig {
    oauth_config_from(|name| std::env::var(name).ok())
}

fn oauth_config_from(lookup: impl Fn(&str) -> Option<String>) -> OAuthConfig {
    let var = |name| lookup(name).filter(|v| !v.is_empty());
    let mut config = match var(OAUTH_BASE_URL_VAR) {
        Some(base) => OAuthConfig::for_tenant(&base, ""),
        None => OAuthConfig::docker_hub(),
    };
    if let Some(client_id) = var(OAUTH_CLIENT_ID_VAR) {
        config.client_id = client_id;
    }
    if let Some(audience) = var(OAUTH_AUDIENCE_VAR) {
        config.audience = Some(audience);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry_key::DOCKER_HUB;

    #[test]
    fn the_provider_is_docker_hub_unless_overridden() {
        assert_eq!(oauth_config_from(|_| None), OAuthConfig::docker_hub());
        let config = oauth_config_from(|name| match name {
            OAUTH_BASE_URL_VAR => Some("http://127.0.0.1:9/".into()),
            OAUTH_CLIENT_ID_VAR => Some("test-client".into()),
            _ => None,
        });
        assert_eq!(
            config.device_authorization_url,
            "http://127.0.0.1:9/oauth/device/code"
        );
        assert_eq!(config.client_id, "test-client");
        assert_eq!(config.audience, None);
        assert_eq!(config.registry, DOCKER_HUB);
    }
}
