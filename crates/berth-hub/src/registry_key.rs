//! One name per registry, however a tool spells it.
//!
//! The docker CLI asks for Docker Hub as `https://index.docker.io/v1/`, for other registries as
//! `host:port`; users type `docker.io`, `http://localhost:5000/` or `Registry.Example.com`.
//! Credentials are keyed by [`registry_key`] so every spelling finds the same entry.

/// The key the docker CLI uses for Docker Hub.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

const HUB_HOSTS: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// Canonical key: lower-case `host[:port]`, or [`DOCKER_HUB`] for every Hub alias. A URL with a
/// path beyond `/v1/` or `/v2/` (the CLI's `.../access-token` entries) keeps its full spelling.
pub fn registry_key(server: &str) -> String {
    let trimmed = server.trim();
    let without_scheme = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let (host, path) = match without_scheme.find('/') {
        Some(slash) => without_scheme.split_at(slash),
        None => (without_scheme, ""),
    };
    if !matches!(path, "" | "/" | "/v1" | "/v1/" | "/v2" | "/v2/") {
        return trimmed.to_string();
    }
    let host = host.to_ascii_lowercase();
    if HUB_HOSTS.contains(&host.as_str()) {
        DOCKER_HUB.to_string()
    } else {
        host
    }
}

/// True for Docker Hub under any of its names.
pub fn is_docker_hub(server: &str) -> bool {
    registry_key(server) == DOCKER_HUB
}

/// The registry an image reference pulls from: the first path component when it looks like a
/// host (has a `.` or a `:`, or is `localhost`), else Docker Hub, the engine's rule.
pub fn registry_of_image(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            registry_key(first)
        }
        _ => DOCKER_HUB.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_name_their_registry_like_the_engine_does() {
        for (image, registry) in [
            ("busybox", DOCKER_HUB),
            ("library/busybox:1.36", DOCKER_HUB),
            ("alice/app@sha256:abc", DOCKER_HUB),
            ("docker.io/alice/app", DOCKER_HUB),
            ("localhost/app", "localhost"),
            ("localhost:5000/app:1", "localhost:5000"),
            ("127.0.0.1:5000/berth/busybox:signin", "127.0.0.1:5000"),
            ("ghcr.io/org/tool:v1", "ghcr.io"),
            ("my-registry:443/x", "my-registry:443"),
        ] {
            assert_eq!(registry_of_image(image), registry, "{image}");
        }
    }

    #[test]
    fn every_hub_alias_is_one_key() {
        for alias in [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "https://registry-1.docker.io/v2/",
            "Registry-1.Docker.IO",
        ] {
            assert_eq!(registry_key(alias), DOCKER_HUB, "{alias}");
            assert!(is_docker_hub(alias));
        }
    }

    #[test]
    fn private_registries_key_by_host_and_port() {
        assert_eq!(registry_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(registry_key("http://LocalHost:5000/"), "localhost:5000");
        assert_eq!(
            registry_key("https://reg.example.com/v2/"),
            "reg.example.com"
        );
        assert!(!is_docker_hub("reg.example.com"));
    }

    #[test]
    fn other_paths_keep_their_spelling() {
        let key = "https://index.docker.io/v1/access-token";
        assert_eq!(registry_key(key), key);
    }
}
