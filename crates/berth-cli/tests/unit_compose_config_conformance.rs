//! Conformance of `berth compose config --format json` over compose files taken from the
//! compose specification's reference loader (compose-go's `loader/testdata`, Apache-2.0),
//! from docker/awesome-compose (CC0-1.0), and Berth's own cases, all under
//! `crates/berth-compose/tests/data/conformance/` with their licences.
//!
//! Each case directory holds the compose files, `files` (the `-f` arguments, one a line), and
//! either `expected.json` (the normalized model, reviewed by hand; the case's directory is
//! written `${DIR}`) or `expected.err` (text the error must contain). `BERTH_BLESS=1` writes
//! the expected files from the current output, for review before committing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../berth-compose/tests/data/conformance")
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.join("files").is_file() {
            out.push(path);
        } else if path.is_dir() {
            cases(&path, out);
        }
    }
}

/// Runs `berth compose -f ... config --format json` in `case`; (success, output with the
/// case's directory written `${DIR}`).
fn config_json(case: &Path) -> (bool, String) {
    let files = std::fs::read_to_string(case.join("files")).expect("files list");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-home")
        .current_dir(case)
        .arg("compose");
    for f in files.lines().filter(|l| !l.trim().is_empty()) {
        cmd.arg("-f").arg(case.join(f.trim()));
    }
    cmd.args(["config", "--format", "json"]);
    let out = cmd.output().expect("running berth compose config");
    let dir = case.canonicalize().expect("case dir");
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).to_string()
    } else {
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    (
        out.status.success(),
        text.replace(&dir.display().to_string(), "${DIR}"),
    )
}

#[test]
fn config_json_matches_the_reviewed_models() {
    let mut all = Vec::new();
    cases(&data_dir(), &mut all);
    assert!(
        all.len() >= 10,
        "expected the conformance cases, found {}",
        all.len()
    );
    let bless = std::env::var_os("BERTH_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &all {
        let (ok, text) = config_json(case);
        let name = case
            .strip_prefix(data_dir())
            .unwrap_or(case)
            .display()
            .to_string();
        let json = case.join("expected.json");
        let err = case.join("expected.err");
        if bless {
            let (path, body) = if ok {
                (json, text.clone())
            } else {
                (
                    err,
                    text.lines().last().unwrap_or_default().to_string() + "\n",
                )
            };
            std::fs::write(path, body).expect("writing expected output");
            continue;
        }
        match (ok, json.is_file(), err.is_file()) {
            (true, true, _) => {
                let want: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&json).expect("expected.json"))
                        .expect("expected.json is JSON");
                let got: serde_json::Value = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => {
                        failures.push(format!("{name}: output is not JSON ({e}):\n{text}"));
                        continue;
                    }
                };
                if got != want {
                    failures.push(format!("{name}: model differs; got:\n{text}"));
                }
            }
            (false, _, true) => {
                let want = std::fs::read_to_string(&err).expect("expected.err");
                if !text.contains(want.trim()) {
                    failures.push(format!("{name}: error differs\n got: {text}\nwant: {want}"));
                }
            }
            _ => failures.push(format!(
                "{name}: unexpected outcome (success {ok}):\n{text}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// compose-go's golden output for its `web-stack.yaml` (what `docker compose config --format
/// json` prints for it), compared with Berth's where the two models have the same shape.
/// Berth refuses the original for its BuildKit-only `build.additional_contexts` (the
/// `golden-web-stack` case); `golden-web-stack-classic` is the same file without it.
#[test]
fn web_stack_matches_compose_go_s_golden_output_where_the_shapes_agree() {
    let case = data_dir().join("compose-go/golden-web-stack-classic");
    let (ok, text) = config_json(&case);
    assert!(ok, "{text}");
    let got: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(case.join("compose-go.golden.json")).expect("golden"),
    )
    .expect("golden JSON");
    let mut pointers = vec!["/name".to_string()];
    for (svc, keys) in [
        (
            "web",
            &[
                "image",
                "command",
                "entrypoint",
                "environment",
                "expose",
                "healthcheck",
                "labels",
                "logging",
                "networks",
                "ports",
                "post_start",
                "pre_stop",
                "restart",
                "scale",
                "profiles",
                "depends_on/db/condition",
                "depends_on/db/required",
                "depends_on/cache/condition",
                "depends_on/cache/required",
                "build/dockerfile",
                "build/args",
                "build/labels",
                "build/target",
            ][..],
        ),
        (
            "db",
            &["image", "environment", "healthcheck", "secrets"][..],
        ),
        ("cache", &["image", "configs", "networks"][..]),
    ] {
        pointers.extend(keys.iter().map(|k| format!("/services/{svc}/{k}")));
    }
    for net in ["backend", "default", "frontend"] {
        pointers.push(format!("/networks/{net}/name"));
    }
    pointers.push("/networks/backend/driver".into());
    for vol in ["data", "db-data"] {
        pointers.push(format!("/volumes/{vol}/name"));
    }
    pointers.push("/volumes/db-data/labels".into());
    let differ: Vec<String> = pointers
        .iter()
        .filter(|p| got.pointer(p) != golden.pointer(p))
        .map(|p| {
            format!(
                "{p}: berth {:?}, compose {:?}",
                got.pointer(p),
                golden.pointer(p)
            )
        })
        .collect();
    assert!(golden.pointer("/services/web/image").is_some());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
