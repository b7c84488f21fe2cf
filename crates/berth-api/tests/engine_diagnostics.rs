//! Tier 2: the diagnostics bundle against a real dockerd. It holds every container's inspect
//! (what a helper asks for first) with secrets removed by name: environment variables, labels
//! and fields whose name says PASS, SECRET, TOKEN, KEY, CREDENTIAL or AUTH.

use berth_api::Berth;
use berth_core::BerthPaths;
use berth_testkit::{read_tar_gz, run, Dockerd};

#[tokio::test(flavor = "multi_thread")]
async fn the_bundle_shows_containers_without_their_secrets() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the test image");
    let home = tempfile::tempdir().unwrap();
    let mut berth = Berth::open_at(BerthPaths::under(home.path())).unwrap();
    berth
        .set_setting("engine.endpoint", &d.docker_host())
        .unwrap();
    let secrets = [
        "hunter2",
        "abc-api-key-value",
        "label-secret-value",
        "gh-token-value",
    ];
    run(d.docker().args([
        "run",
        "-d",
        "--name",
        "diag-db",
        "-e",
        "DB_PASS=hunter2",
        "-e",
        "API_KEY=abc-api-key-value",
        "-e",
        "GITHUB_TOKEN=gh-token-value",
        "-e",
        "PLAIN_SETTING=visible-value",
        "--label",
        "com.example.db-secret=label-secret-value",
        "--label",
        "com.example.tier=visible-label",
        &image,
        "sleep",
        "600",
    ]))
    .unwrap();

    let out = home.path().join("bundle.tar.gz");
    berth.diagnostics_bundle(&out).await.unwrap();
    #[cfg(unix)]
    assert_eq!(
        berth_testkit::file_mode(&out),
        0o600,
        "the bundle is the user's alone"
    );
    let entries = read_tar_gz(&out);
    let containers = &entries
        .iter()
        .find(|(n, _)| n.ends_with("/containers.json"))
        .expect("containers.json in the bundle")
        .1;
    let parsed: serde_json::Value = serde_json::from_str(containers).expect("valid JSON");
    let db = parsed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Name"] == "/diag-db")
        .unwrap_or_else(|| panic!("the container is in the bundle: {containers}"));
    let env: Vec<&str> = db["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for expected in [
        "DB_PASS=<redacted>",
        "API_KEY=<redacted>",
        "GITHUB_TOKEN=<redacted>",
        "PLAIN_SETTING=visible-value",
    ] {
        assert!(env.contains(&expected), "{expected} in {env:?}");
    }
    assert_eq!(
        db["Config"]["Labels"]["com.example.db-secret"],
        "<redacted>"
    );
    assert_eq!(db["Config"]["Labels"]["com.example.tier"], "visible-label");
    let all: String = entries.iter().map(|(_, t)| t.as_str()).collect();
    for secret in secrets {
        assert!(!all.contains(secret), "{secret} is in the bundle");
    }
}
