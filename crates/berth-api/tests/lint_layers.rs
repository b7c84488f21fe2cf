//! Lint tier: DESIGN.md's layers, checked on the real dependency graph. The dashboard and the
//! CLI are shells over berth-api; the app is the daemon's client and does not link the VM, the
//! host-guest link or the daemon.

use std::collections::BTreeSet;
use std::process::Command;

/// The shells: the Tauri app and the `berth` command.
const SHELLS: [&str; 2] = ["berth-app", "berth-cli"];
/// The Berth crates a shell may depend on: the one door, and the ground under it.
const DOOR: [&str; 2] = ["berth-api", "berth-core"];
/// What the shells still reach around the door, until that logic moves into berth-api: nothing
/// now. A new dependency fails the test, and so does an entry that is no longer one.
const NOT_YET_BEHIND_THE_DOOR: [(&str, &str); 0] = [];
/// What the app must not link, even through berth-api.
const NOT_IN_THE_APP: [&str; 3] = ["berth-vm", "berth-link", "berth-daemon"];

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo prints UTF-8")
}

/// The Berth crates `package` names under `[dependencies]` (any target), and whether each is
/// optional.
fn berth_dependencies(metadata: &serde_json::Value, package: &str) -> Vec<(String, bool)> {
    let found = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == package)
        .unwrap_or_else(|| panic!("{package} is in the workspace"));
    found["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter(|d| d["kind"].is_null())
        .filter_map(|d| {
            let name = d["name"].as_str()?;
            let optional = d["optional"].as_bool().unwrap_or(false);
            name.starts_with("berth-")
                .then(|| (name.to_owned(), optional))
        })
        .collect()
}

#[test]
fn the_shells_depend_on_berth_api_and_berth_core_only() {
    let metadata: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--no-deps"]))
            .expect("cargo metadata is JSON");
    let mut allowed: BTreeSet<(String, String)> = NOT_YET_BEHIND_THE_DOOR
        .iter()
        .map(|(s, d)| (s.to_string(), d.to_string()))
        .collect();
    let mut wrong = Vec::new();
    for shell in SHELLS {
        for (dep, _) in berth_dependencies(&metadata, shell) {
            let pair = (shell.to_owned(), dep.clone());
            if !DOOR.contains(&dep.as_str()) && !allowed.remove(&pair) {
                wrong.push(pair);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "shells reaching around berth-api (move the logic into it): {wrong:?}"
    );
    assert!(
        allowed.is_empty(),
        "no longer dependencies, take them out of NOT_YET_BEHIND_THE_DOOR: {allowed:?}"
    );
    let api = berth_dependencies(&metadata, "berth-api");
    assert!(
        api.iter()
            .all(|(dep, optional)| dep != "berth-daemon" || *optional),
        "berth-api depends on the daemon's contract (berth-control), not on the daemon: {api:?}"
    );
}

#[test]
fn the_app_links_neither_the_vm_nor_the_link_nor_the_daemon() {
    let tree = cargo(&[
        "tree",
        "-p",
        "berth-app",
        "-e",
        "normal",
        "--target",
        "all",
        "--prefix",
        "none",
    ]);
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(crates.contains("berth-api"), "{tree}");
    for unwanted in NOT_IN_THE_APP {
        assert!(
            !crates.contains(unwanted),
            "berth-app links {unwanted}:\n{tree}"
        );
    }
}
