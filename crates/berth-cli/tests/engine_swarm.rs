//! Engine tier: Swarm through `berth swarm` against a private dockerd (one for this file, made
//! a one-node swarm by `berth swarm init --advertise-addr 127.0.0.1`; the tests take turns).
//! A two-service stack with an overlay network, a secret and a config is deployed from a
//! compose file, scaled, rolled over to another image one task at a time, given an update
//! whose health check fails (rolled back per `failure_action`), seen by the stock `docker
//! stack ps`, and removed without a trace; a stack the docker CLI deployed is seen and
//! removed by Berth. A second test: an autoscale rule follows a service's CPU up to its
//! maximum and back down to its minimum, printing each decision and when it came.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use berth_api::swarm::autoscale::Autoscaler;
use berth_core::BerthPaths;
use berth_engine::{Endpoint, Engine};
use berth_testkit::{run, wait_until_async, Dockerd};

/// Replicas converge, and updates and rollbacks finish, at the swarm's pace.
const CONVERGE: Duration = Duration::from_secs(120);
const IDLE: &str = "trap 'exit 0' TERM; sleep 600 & wait";
const NAMESPACE: &str = "com.docker.stack.namespace";

struct Swarm {
    d: Dockerd,
    image: String,
    v2: String,
}

/// One private dockerd, a swarm, for the whole file; the tests take turns on it.
async fn swarm() -> (&'static Swarm, tokio::sync::MutexGuard<'static, ()>) {
    static SWARM: OnceLock<Swarm> = OnceLock::new();
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let turn = TURN.lock().await;
    let s = SWARM.get_or_init(|| {
        let d = Dockerd::start().expect("start a private dockerd");
        let image = d.test_image().expect("the busybox test image");
        let v2 = "berth-test/busybox:v2".to_string();
        docker(&d, &["tag", &image, &v2]);
        let home = tempfile::tempdir().expect("a temp dir");
        let init = berth(&d, home.path())
            .args(["swarm", "init", "--advertise-addr", "127.0.0.1"])
            .output()
            .expect("berth swarm init");
        assert!(init.status.success(), "berth swarm init: {}", text(&init));
        assert!(
            stdout(&init).contains("is now a manager"),
            "{}",
            text(&init)
        );
        Swarm { d, image, v2 }
    });
    (s, turn)
}

fn berth(d: &Dockerd, home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.env("BERTH_HOME", home)
        .env("DOCKER_HOST", d.docker_host())
        .env_remove("DOCKER_CONTEXT")
        .env("LANG", "C.UTF-8");
    cmd
}

fn docker(d: &Dockerd, args: &[&str]) -> String {
    run(d.docker().args(args)).unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `berth ARGS` must succeed; returns its output.
fn ok(d: &Dockerd, home: &Path, args: &[&str]) -> Output {
    let out = berth(d, home).args(args).output().expect("run berth");
    assert!(out.status.success(), "berth {args:?}: {}", text(&out));
    out
}

/// `berth ARGS` must fail; returns its stderr.
fn fails(d: &Dockerd, home: &Path, args: &[&str]) -> String {
    let out = berth(d, home).args(args).output().expect("run berth");
    assert!(
        !out.status.success(),
        "berth {args:?} succeeded: {}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn engine(d: &Dockerd) -> Engine {
    Engine::connect(&Endpoint::Host(d.docker_host()))
        .await
        .expect("connect to the private dockerd")
}

async fn running(e: &Engine, service: &str) -> Vec<berth_engine::TaskSummary> {
    e.service_tasks(service)
        .await
        .map(|tasks| tasks.into_iter().filter(|t| t.is_running()).collect())
        .unwrap_or_default()
}

async fn wait_running(e: &Engine, service: &str, n: usize) {
    wait_until_async(
        CONVERGE,
        &format!("{n} running tasks of {service}"),
        || async { running(e, service).await.len() == n },
    )
    .await
    .unwrap_or_else(|err| panic!("{err}"));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a test file");
    path
}

fn stack_file(image: &str) -> String {
    format!(
        r#"services:
  web:
    image: {image}
    command: ["sh", "-c", "{IDLE}"]
    networks: [front]
    secrets: [token]
    configs:
      - source: site
        target: /etc/site.conf
    deploy:
      replicas: 3
      labels: {{tier: web}}
      update_config:
        parallelism: 1
        delay: 1s
        order: stop-first
        failure_action: rollback
        monitor: 4s
        max_failure_ratio: 0
      rollback_config:
        parallelism: 0
        monitor: 3s
      restart_policy:
        condition: any
        delay: 1s
  api:
    image: {image}
    command: ["sh", "-c", "{IDLE}"]
    container_name: api-not-in-a-stack
    networks: [front]
    deploy:
      mode: global
networks:
  front:
    driver: overlay
secrets:
  token:
    file: ./token.txt
configs:
  site:
    file: ./site.conf
"#
    )
}

/// The names of what carries the stack's label, by kind (all of them empty once removed).
fn leftovers(d: &Dockerd, stack: &str) -> Vec<String> {
    let filter = format!("label={NAMESPACE}={stack}");
    let mut found = Vec::new();
    for kind in ["service", "network", "secret", "config"] {
        let list = docker(
            d,
            &[kind, "ls", "--filter", &filter, "--format", "{{.Name}}"],
        );
        found.extend(list.lines().map(|name| format!("{kind} {name}")));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_is_deployed_scaled_rolled_over_rolled_back_and_removed() {
    let (s, _turn) = swarm().await;
    let d = &s.d;
    let home = tempfile::tempdir().expect("a BERTH_HOME");
    let home = home.path();
    let e = engine(d).await;
    let dir = tempfile::tempdir().expect("a stack dir");
    write(dir.path(), "token.txt", "s3cret-token\n");
    write(dir.path(), "site.conf", "listen 8080\n");
    let file = write(dir.path(), "stack.yml", &stack_file(&s.image));
    let file = file.to_str().expect("a UTF-8 path");

    // Once in a swarm, init says so.
    assert!(fails(d, home, &["swarm", "init"]).contains("already part of a swarm"));

    let started = Instant::now();
    let out = ok(d, home, &["swarm", "deploy", "-c", file, "app"]);
    let (said, warned) = (
        stdout(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    for line in [
        "Creating network app_front",
        "Creating secret app_token",
        "Creating config app_site",
        "Creating service app_web",
        "Creating service app_api",
    ] {
        assert!(said.contains(line), "deploy said:\n{said}");
    }
    assert!(
        warned.contains("Ignoring unsupported options: container_name"),
        "{warned}"
    );
    wait_running(&e, "app_web", 3).await;
    wait_running(&e, "app_api", 1).await;
    eprintln!("three tasks running {:?} after deploy", started.elapsed());

    let network = docker(
        d,
        &[
            "network",
            "inspect",
            "app_front",
            "--format",
            "{{.Driver}} {{.Scope}}",
        ],
    );
    assert_eq!(network.trim(), "overlay swarm");
    let task = running(&e, "app_web").await.remove(0);
    let container = task.container_id.expect("a task container");
    let secret = docker(d, &["exec", &container, "cat", "/run/secrets/token"]);
    assert_eq!(secret, "s3cret-token\n");
    let config = docker(d, &["exec", &container, "cat", "/etc/site.conf"]);
    assert_eq!(config, "listen 8080\n");
    let labels = docker(
        d,
        &[
            "service",
            "inspect",
            "app_web",
            "--format",
            "{{json .Spec.Labels}}",
        ],
    );
    assert!(
        labels.contains(r#""com.docker.stack.namespace":"app""#),
        "{labels}"
    );
    assert!(labels.contains(r#""tier":"web""#), "{labels}");

    // Scaling: a replicated service to 5, a global one refused by name.
    ok(d, home, &["swarm", "scale", "app_web=5"]);
    wait_running(&e, "app_web", 5).await;
    let refused = fails(d, home, &["swarm", "scale", "app_api=2"]);
    assert!(refused.contains("app_api is a global service"), "{refused}");
    // A secret a service uses cannot be removed.
    let refused = fails(d, home, &["swarm", "secret", "rm", "app_token"]);
    assert!(
        refused.contains("secret app_token is in use by service app_web"),
        "{refused}"
    );

    rolling_update(s, home, &e).await;
    failing_update_rolls_back(s, home, &e, dir.path(), file).await;

    // The stock docker CLI sees Berth's stack, and Berth sees the CLI's.
    let ps = docker(
        d,
        &[
            "stack",
            "ps",
            "app",
            "--format",
            "{{.Name}} {{.CurrentState}}",
        ],
    );
    assert!(
        ps.contains("app_web.1 Running"),
        "docker stack ps app:\n{ps}"
    );
    assert!(ps.contains("app_api."), "docker stack ps app:\n{ps}");
    let cli_file = write(
        dir.path(),
        "cli.yml",
        &format!(
            "services:\n  one:\n    image: {}\n    command: [\"sh\", \"-c\", \"{IDLE}\"]\n",
            s.image
        ),
    );
    let cli_file = cli_file.to_str().expect("a UTF-8 path");
    docker(
        d,
        &[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            cli_file,
            "cli",
        ],
    );
    let stacks = stdout(&ok(d, home, &["swarm", "stacks"]));
    assert!(
        stacks.contains("app ") && stacks.contains("cli "),
        "{stacks}"
    );
    let mine = stdout(&ok(d, home, &["swarm", "ps", "--stack", "app"]));
    assert!(mine.contains("app_web.1"), "{mine}");

    // A stack file error names file, line and key.
    let bad = write(
        dir.path(),
        "bad.yml",
        &format!(
            "services:\n  web:\n    image: {}\n    deploy:\n      update_config:\n        parallelism: many\n",
            s.image
        ),
    );
    let error = fails(
        d,
        home,
        &["swarm", "deploy", "-c", bad.to_str().unwrap(), "bad"],
    );
    assert!(
        error.contains(&format!(
            "{}:6: services.web.deploy.update_config.parallelism",
            bad.display()
        )),
        "{error}"
    );

    let removed = stdout(&ok(d, home, &["swarm", "rm", "app"]));
    for line in [
        "Removing service app_web",
        "Removing network app_front",
        "Removing secret app_token",
        "Removing config app_site",
    ] {
        assert!(removed.contains(line), "rm said:\n{removed}");
    }
    ok(d, home, &["swarm", "rm", "cli"]);
    assert_eq!(leftovers(d, "app"), Vec::<String>::new());
    assert_eq!(leftovers(d, "cli"), Vec::<String>::new());
    let none = fails(d, home, &["swarm", "rm", "app"]);
    assert!(none.contains("Nothing found in stack: app"), "{none}");

    // A redeploy with --prune removes the services the file no longer has.
    let two = write(
        dir.path(),
        "two.yml",
        &format!(
            "services:\n  one:\n    image: {0}\n    command: [\"sh\", \"-c\", \"{IDLE}\"]\n  two:\n    image: {0}\n    command: [\"sh\", \"-c\", \"{IDLE}\"]\n",
            s.image
        ),
    );
    let one = write(
        dir.path(),
        "one.yml",
        &format!(
            "services:\n  one:\n    image: {}\n    command: [\"sh\", \"-c\", \"{IDLE}\"]\n",
            s.image
        ),
    );
    ok(
        d,
        home,
        &["swarm", "deploy", "-c", two.to_str().unwrap(), "pr"],
    );
    let kept = stdout(&ok(
        d,
        home,
        &["swarm", "deploy", "-c", one.to_str().unwrap(), "pr"],
    ));
    assert!(!kept.contains("Removing"), "{kept}");
    let pruned = stdout(&ok(
        d,
        home,
        &[
            "swarm",
            "deploy",
            "--prune",
            "-c",
            one.to_str().unwrap(),
            "pr",
        ],
    ));
    assert!(pruned.contains("Removing service pr_two"), "{pruned}");
    let left = docker(
        d,
        &[
            "service",
            "ls",
            "--filter",
            "label=com.docker.stack.namespace=pr",
            "--format",
            "{{.Name}}",
        ],
    );
    assert_eq!(left.trim(), "pr_one");
    ok(d, home, &["swarm", "rm", "pr"]);
    assert_eq!(leftovers(d, "pr"), Vec::<String>::new());

    // Drain and activate the node.
    let node = docker(d, &["info", "--format", "{{.Swarm.NodeID}}"]);
    let node = node.trim();
    let availability = || {
        docker(
            d,
            &[
                "node",
                "inspect",
                node,
                "--format",
                "{{.Spec.Availability}}",
            ],
        )
    };
    ok(d, home, &["swarm", "node", node, "--availability", "drain"]);
    assert_eq!(availability().trim(), "drain");
    ok(
        d,
        home,
        &["swarm", "node", node, "--availability", "active"],
    );
    assert_eq!(availability().trim(), "active");
    eprintln!("whole stack test took {:?}", started.elapsed());
}

/// `berth swarm update --image`: with `parallelism: 1` the tasks are replaced one at a time,
/// never more than one down, each step seen.
async fn rolling_update(s: &Swarm, home: &Path, e: &Engine) {
    let d = &s.d;
    let started = Instant::now();
    ok(d, home, &["swarm", "update", "app_web", "--image", &s.v2]);
    let mut steps: Vec<(Duration, usize)> = Vec::new();
    let mut fewest_running = usize::MAX;
    let deadline = Instant::now() + CONVERGE;
    loop {
        let tasks = running(e, "app_web").await;
        let updated = tasks.iter().filter(|t| t.image == s.v2).count();
        fewest_running = fewest_running.min(tasks.len());
        if steps.last().map(|(_, n)| *n) != Some(updated) {
            steps.push((started.elapsed(), updated));
        }
        if updated == 5 && tasks.len() == 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rolling update stuck at {steps:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("rolling update, tasks on the new image over time: {steps:?}");
    let counts: Vec<usize> = steps.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, [0, 1, 2, 3, 4, 5], "one task replaced at a time");
    assert!(
        fewest_running >= 4,
        "at most one task down at a time, saw {fewest_running} running"
    );
    // The swarm watches the last task for `monitor` before it calls the update done.
    wait_until_async(CONVERGE, "the update completed", || async {
        e.inspect_service("app_web")
            .await
            .is_ok_and(|s| s.update_state.as_deref() == Some("completed"))
    })
    .await
    .unwrap_or_else(|err| panic!("{err}"));
}

/// A redeploy (two `-c` files) whose health check fails is rolled back by the swarm, as the
/// file's `failure_action: rollback` says, and the service says why.
async fn failing_update_rolls_back(s: &Swarm, home: &Path, e: &Engine, dir: &Path, file: &str) {
    let d = &s.d;
    let failing = write(
        dir,
        "unhealthy.yml",
        "services:\n  web:\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      timeout: 1s\n      retries: 1\n",
    );
    let started = Instant::now();
    let out = ok(
        d,
        home,
        &[
            "swarm",
            "deploy",
            "-c",
            file,
            "-c",
            failing.to_str().unwrap(),
            "app",
        ],
    );
    assert!(
        stdout(&out).contains("Updating service app_web"),
        "{}",
        text(&out)
    );
    // What the service says on the way, as the page shows it.
    let mut seen: Vec<(Duration, String, String)> = Vec::new();
    let deadline = Instant::now() + CONVERGE;
    loop {
        let state = e.inspect_service("app_web").await.expect("inspect app_web");
        let now = (
            state.update_state.clone().unwrap_or_default(),
            state.update_message.clone().unwrap_or_default(),
        );
        if seen.last().map(|(_, s, m)| (s.clone(), m.clone())) != Some(now.clone()) {
            seen.push((started.elapsed(), now.0, now.1));
        }
        if state.update_state.as_deref() == Some("rollback_completed") {
            break;
        }
        assert!(Instant::now() < deadline, "no rollback: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (at, state, message) in &seen {
        eprintln!("{at:>10.1?} {state}: {message}");
    }
    // The swarm says why (`rollback_started: update rolled back due to failure ...`) only
    // while it rolls back, which can pass between two looks; what stays is the state.
    assert_eq!(
        seen.last().map(|(_, state, _)| state.as_str()),
        Some("rollback_completed")
    );
    let health = docker(
        d,
        &[
            "service",
            "inspect",
            "app_web",
            "--format",
            "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck}}",
        ],
    );
    assert_eq!(
        health.trim(),
        "null",
        "the failing health check is gone again"
    );
    let listed = stdout(&ok(d, home, &["swarm", "services"]));
    assert!(listed.contains("rollback_completed"), "{listed}");
    let ps = stdout(&ok(d, home, &["swarm", "ps", "app_web"]));
    eprintln!("berth swarm ps app_web after the rollback:\n{ps}");
    wait_running(e, "app_web", 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autoscale_rule_follows_cpu_up_to_its_maximum_and_back_to_its_minimum() {
    let (s, _turn) = swarm().await;
    let d = &s.d;
    let home = tempfile::tempdir().expect("a BERTH_HOME");
    let e = engine(d).await;
    let control = d.root().join(format!("autoscale-{}", std::process::id()));
    std::fs::create_dir_all(&control).expect("a control dir");
    let dir = tempfile::tempdir().expect("a stack dir");
    // Burns a CPU (capped at half of one) while /ctl/burn exists.
    let file = write(
        dir.path(),
        "burn.yml",
        &format!(
            r#"services:
  cpu:
    image: {}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do if [ -e /ctl/burn ]; then :; else sleep 1; fi; done"]
    volumes:
      - type: bind
        source: {}
        target: /ctl
    deploy:
      replicas: 1
      resources:
        limits:
          cpus: "0.5"
"#,
            s.image,
            control.display()
        ),
    );
    ok(
        d,
        home.path(),
        &["swarm", "deploy", "-c", file.to_str().unwrap(), "load"],
    );
    wait_running(&e, "load_cpu", 1).await;
    let refused = fails(
        d,
        home.path(),
        &[
            "swarm",
            "autoscale",
            "load_cpu",
            "--min",
            "3",
            "--max",
            "2",
            "--cpu",
            "30",
        ],
    );
    assert!(
        refused.contains("--max (2) must not be below --min (3)"),
        "{refused}"
    );
    ok(
        d,
        home.path(),
        &[
            "swarm",
            "autoscale",
            "load_cpu",
            "--min",
            "1",
            "--max",
            "2",
            "--cpu",
            "30",
        ],
    );
    let paths = BerthPaths::under(home.path());
    let rules = paths.config_dir.join("swarm-autoscale.json");
    assert_eq!(berth_testkit::file_mode(&rules) & 0o777, 0o600);

    let scaler = Autoscaler::new(e.clone(), &paths);
    let started = Instant::now();
    std::fs::write(control.join("burn"), "").expect("start the load");
    let mut most = 0;
    let up = pass_until(&scaler, &e, started, |replicas| {
        most = most.max(replicas);
        replicas == 2
    })
    .await;
    // At the maximum it stays there while the load lasts.
    let held = scaler.tick().await.expect("an autoscale pass");
    for d in &held {
        eprintln!(
            "{:>6.1}s {} {} -> {}: {}",
            started.elapsed().as_secs_f64(),
            d.service,
            d.from,
            d.to,
            d.reason
        );
    }
    assert!(held.iter().all(|d| d.to <= 2), "{held:?}");
    std::fs::remove_file(control.join("burn")).expect("stop the load");
    let stopped = started.elapsed();
    let down = pass_until(&scaler, &e, started, |replicas| replicas == 1).await;
    eprintln!("scaled up to 2 after {up:?}, load stopped at {stopped:?}, back to 1 after {down:?}");
    assert!(most <= 2, "never above the maximum");

    let logged = scaler.history().expect("the decisions' log");
    assert!(
        logged.iter().any(|d| d.from == 1 && d.to == 2),
        "{logged:?}"
    );
    assert!(
        logged.iter().any(|d| d.from == 2 && d.to == 1),
        "{logged:?}"
    );
    assert!(logged.iter().all(|d| !d.reason.is_empty()));
    ok(d, home.path(), &["swarm", "autoscale", "load_cpu", "--off"]);
    ok(d, home.path(), &["swarm", "rm", "load"]);
    let _ = std::fs::remove_dir_all(&control);
}

/// Autoscale passes every 2 s, each decision printed with its time, until the service's
/// replica count satisfies `done`; returns when.
async fn pass_until(
    scaler: &Autoscaler,
    e: &Engine,
    started: Instant,
    mut done: impl FnMut(u64) -> bool,
) -> Duration {
    let deadline = Instant::now() + CONVERGE;
    loop {
        for d in scaler.tick().await.expect("an autoscale pass") {
            let cpu = d.cpu_percent.map_or("-".into(), |c| format!("{c:.0}%"));
            eprintln!(
                "{:>6.1}s {} {} -> {} (cpu {cpu}, {} tasks measured): {}",
                started.elapsed().as_secs_f64(),
                d.service,
                d.from,
                d.to,
                d.measured_tasks,
                d.reason
            );
        }
        let replicas = e
            .inspect_service("load_cpu")
            .await
            .ok()
            .and_then(|s| s.replicas)
            .unwrap_or(0);
        if done(replicas) && running(e, "load_cpu").await.len() as u64 == replicas {
            return started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "autoscaling did not get there in {CONVERGE:?}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Joining: a token that is not a swarm token is refused before the engine is asked, and a
/// manager that does not answer is an error that says so (on an engine in no swarm).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_with_a_bad_token_or_an_unreachable_manager_is_a_clear_error() {
    let d = Dockerd::start().expect("a private dockerd");
    let home = tempfile::tempdir().expect("a BERTH_HOME");
    let bad = fails(
        &d,
        home.path(),
        &["swarm", "join", "--token", "letmein", "127.0.0.1"],
    );
    assert!(bad.contains("SWMTKN-1-"), "{bad}");
    let token =
        "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx";
    let started = Instant::now();
    let unreachable = fails(
        &d,
        home.path(),
        &["swarm", "join", "--token", token, "127.0.0.1:1"],
    );
    eprintln!(
        "join to nothing refused after {:?}: {unreachable}",
        started.elapsed()
    );
    assert!(
        unreachable.contains("joining the swarm at 127.0.0.1:1 failed"),
        "{unreachable}"
    );
    let state = docker(&d, &["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    assert_ne!(state.trim(), "active", "{state}");
}
