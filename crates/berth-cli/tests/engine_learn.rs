//! Engine tier: every lesson of `berth learn` run for real by the built `berth` binary against a
//! private dockerd (one for this file), with no network. After each lesson nothing labelled
//! `berth.learn` is left and the user's own container, volume, network and image are untouched;
//! a lesson stopped half-way with SIGINT cleans up too, and a swarm the user had stays.
// The engine tier reaches its daemons over unix sockets; it runs on Linux.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use berth_testkit::{run, Dockerd, Registry};

const USER: &str = "learner";
const PASSWORD: &str = "lesson-pw-3141";

/// One private dockerd for the whole file (its watchdog stops it when the test process exits);
/// the tests take turns on it, since each checks the engine has nothing labelled left.
fn engine() -> (
    &'static Dockerd,
    &'static UsersThings,
    MutexGuard<'static, ()>,
) {
    static ENGINE: OnceLock<(Dockerd, UsersThings)> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (d, users) = ENGINE.get_or_init(|| {
        let d = Dockerd::start().expect("start a private dockerd");
        let users = UsersThings::create(&d);
        (d, users)
    });
    (d, users, turn)
}

fn berth(d: &Dockerd, home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.env("BERTH_HOME", home)
        .env("DOCKER_HOST", d.docker_host())
        .env_remove("DOCKER_CONTEXT")
        .env_remove("BERTH_LEARN_PASSWORD")
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES");
    cmd
}

fn docker(d: &Dockerd, args: &[&str]) -> String {
    run(d.docker().args(args)).unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

/// Everything on the engine that carries the lesson label, by kind.
fn labelled(d: &Dockerd) -> Vec<String> {
    let mut found = Vec::new();
    let lists: [(&str, &[&str]); 4] = [
        ("container", &["ps", "-aq", "--filter", "label=berth.learn"]),
        ("image", &["images", "-aq", "--filter", "label=berth.learn"]),
        (
            "volume",
            &["volume", "ls", "-q", "--filter", "label=berth.learn"],
        ),
        (
            "network",
            &["network", "ls", "-q", "--filter", "label=berth.learn"],
        ),
    ];
    for (kind, args) in lists {
        found.extend(docker(d, args).lines().map(|id| format!("{kind} {id}")));
    }
    found
}

fn swarm_state(d: &Dockerd) -> String {
    docker(d, &["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .trim()
        .to_string()
}

/// What the user had before any lesson ran: none of it may change.
struct UsersThings;

impl UsersThings {
    fn create(d: &Dockerd) -> UsersThings {
        let image = d.test_image().expect("the user's image");
        docker(d, &["volume", "create", "user-data"]);
        docker(d, &["network", "create", "user-net"]);
        docker(
            d,
            &[
                "run",
                "-d",
                "--name",
                "user-app",
                "--network",
                "user-net",
                "-v",
                "user-data:/data",
                &image,
                "sh",
                "-c",
                "echo mine > /data/file; trap 'exit 0' TERM; while true; do sleep 1; done",
            ],
        );
        UsersThings
    }

    fn assert_untouched(&self, d: &Dockerd) {
        let state = docker(d, &["inspect", "-f", "{{.State.Status}}", "user-app"]);
        assert_eq!(state.trim(), "running", "the user's container");
        docker(d, &["volume", "inspect", "user-data"]);
        docker(d, &["network", "inspect", "user-net"]);
        docker(d, &["image", "inspect", berth_testkit::TEST_IMAGE]);
        let file = docker(d, &["exec", "user-app", "cat", "/data/file"]);
        assert_eq!(file.trim(), "mine", "the user's volume keeps its data");
    }
}

fn lesson_ids(d: &Dockerd, home: &Path) -> Vec<String> {
    let out = berth(d, home)
        .args(["learn", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

/// Runs `berth learn run <id> --yes` and returns its stdout, failing with all of its output.
fn run_lesson(d: &Dockerd, home: &Path, id: &str, extra: &[&str], env: &[(&str, &str)]) -> String {
    let started = Instant::now();
    let mut cmd = berth(d, home);
    cmd.args(["learn", "run", id, "--yes"]).args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "lesson {id}: {:.1} s\n{stdout}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "lesson {id} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains('✗'),
        "lesson {id} has a failed claim:\n{stdout}"
    );
    assert!(
        stdout.contains('✓'),
        "lesson {id} checked nothing:\n{stdout}"
    );
    stdout
}

#[test]
fn engine_every_lesson_passes_offline_and_leaves_nothing_labelled_and_the_users_things_alone() {
    let (d, users, _turn) = engine();
    let registry = Registry::start_in(d, Some((USER, PASSWORD))).expect("a registry with auth");
    // `login` checks the password against /v2/ from this side, as `berth login` does.
    let _bridge = registry
        .bridge_to_host(d)
        .expect("the registry on the host's loopback");
    let home = tempfile::tempdir().unwrap();
    let ids = lesson_ids(d, home.path());
    for required in [
        "images",
        "containers",
        "build",
        "storage",
        "networks",
        "compose",
        "registry",
        "swarm",
    ] {
        assert!(
            ids.iter().any(|i| i == required),
            "no lesson {required}: {ids:?}"
        );
    }
    let addr = registry.addr();
    for id in &ids {
        let (extra, env): (Vec<String>, Vec<(&str, &str)>) = if id == "registry" {
            (
                vec![
                    "--set".into(),
                    format!("registry={addr}"),
                    "--set".into(),
                    format!("username={USER}"),
                ],
                vec![("BERTH_LEARN_PASSWORD", PASSWORD)],
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let out = run_lesson(d, home.path(), id, &extra, &env);
        assert!(
            out.contains("made from the engine's own busybox, without a network"),
            "lesson {id} did not make its image offline:\n{out}"
        );
        assert!(!out.contains(PASSWORD), "lesson {id} printed the password");
        assert_eq!(
            labelled(d),
            Vec::<String>::new(),
            "left by lesson {id}:\n{out}"
        );
        assert_eq!(swarm_state(d), "inactive", "after lesson {id}");
        users.assert_untouched(d);
        let workdir = home.path().join("data/learn").join(id);
        assert!(!workdir.exists(), "{} is left", workdir.display());
    }
    // Followed from the system's language: Japanese text and claims.
    let ja = run_lesson(d, home.path(), "images", &[], &[("LANG", "ja_JP.UTF-8")]);
    assert!(ja.contains("イメージとタグ"), "{ja}");
    assert!(ja.contains("理由"), "{ja}");
    assert!(ja.contains("同じイメージ"), "{ja}");
    assert_eq!(labelled(d), Vec::<String>::new());
    users.assert_untouched(d);
}

#[test]
fn engine_a_lesson_stopped_with_sigint_half_way_cleans_up() {
    let (d, users, _turn) = engine();
    let home = tempfile::tempdir().unwrap();
    let mut child = berth(d, home.path())
        .args(["learn", "run", "storage"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut prompts = 0;
    // Run five steps (a container's layer, a volume with data), then stop at the sixth prompt.
    while prompts < 6 {
        let mut line = String::new();
        let n = stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "berth ended early:\n{seen}");
        seen.push_str(&line);
        if line.contains("Press Enter") {
            prompts += 1;
            if prompts < 6 {
                stdin.write_all(b"\n").unwrap();
            }
        }
    }
    assert!(
        !labelled(d).is_empty(),
        "half-way, the lesson has made things:\n{seen}"
    );
    let pid = child.id().to_string();
    run(Command::new("kill").args(["-INT", &pid])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "berth did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    seen.push_str(&rest);
    eprintln!("{seen}");
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("Interrupted"), "{seen}");
    assert_eq!(labelled(d), Vec::<String>::new(), "{seen}");
    users.assert_untouched(d);
}

#[test]
fn engine_a_lesson_stopped_with_sigint_during_a_step_cleans_up_its_swarm() {
    let (d, users, _turn) = engine();
    let home = tempfile::tempdir().unwrap();
    let mut child = berth(d, home.path())
        .args(["learn", "run", "swarm", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // Stop while the swarm scales the service up: a step in flight, a service and a swarm made.
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "berth ended early:\n{seen}"
        );
        seen.push_str(&line);
        if line.starts_with("[3/") {
            break;
        }
    }
    run(Command::new("kill").args(["-INT", &child.id().to_string()])).unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    seen.push_str(&rest);
    eprintln!("{seen}");
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("left the lesson's swarm"), "{seen}");
    assert_eq!(swarm_state(d), "inactive", "{seen}");
    assert_eq!(labelled(d), Vec::<String>::new(), "{seen}");
    users.assert_untouched(d);
}

#[test]
fn engine_the_swarm_lesson_uses_the_users_swarm_and_does_not_leave_it() {
    let (d, users, _turn) = engine();
    let home = tempfile::tempdir().unwrap();
    docker(d, &["swarm", "init", "--advertise-addr", "127.0.0.1"]);
    let out = std::panic::catch_unwind(|| run_lesson(d, home.path(), "swarm", &[], &[]));
    let state = swarm_state(d);
    let left = labelled(d);
    docker(d, &["swarm", "leave", "--force"]);
    let out = out.unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert_eq!(state, "active", "the user's swarm was left:\n{out}");
    assert!(out.contains("already part of a swarm"), "{out}");
    assert_eq!(left, Vec::<String>::new(), "{out}");
    users.assert_untouched(d);
}
