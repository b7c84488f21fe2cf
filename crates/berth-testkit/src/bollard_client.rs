//! An engine client of the test's own, independent of the code under test: a test asks the
//! engine with it what the engine really holds.

/// A bollard client on `address` (`unix:///path`, a bare socket path, or `tcp://host:port`),
/// speaking the engine's API version (negotiated, so older daemons answer too).
///
/// Panics when the address cannot be used or the engine does not answer: in a test that is the
/// failure to report.
pub async fn docker_client(address: &str) -> bollard::Docker {
    let secs = 120;
    let version = bollard::API_DEFAULT_VERSION;
    let docker = if address.starts_with("tcp://") || address.starts_with("http://") {
        bollard::Docker::connect_with_http(address, secs, version)
    } else {
        let path = address.strip_prefix("unix://").unwrap_or(address);
        bollard::Docker::connect_with_unix(path, secs, version)
    }
    .unwrap_or_else(|e| panic!("a bollard client on {address}: {e}"));
    docker
        .negotiate_version()
        .await
        .unwrap_or_else(|e| panic!("negotiating the API version with {address}: {e}"))
}
