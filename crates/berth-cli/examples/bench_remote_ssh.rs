//! `/_ping` and `docker ps` over an ssh remote: Berth's engine client (berth-api's engines,
//! `ssh ... docker system dial-stdio` under bollard) against the stock docker CLI's own
//! `ssh://` context, on the same sshd in front of the same private dockerd, side by side in one
//! run (rounds interleaved, medians).
//!
//! Run (as root: dockerd, sshd and network namespaces):
//!   cargo build --release -p berth-cli --examples
//!   target/release/examples/bench_remote_ssh [rounds]
//!
//! What is compared, each from nothing (a new ssh login every time, as every `docker` command
//! makes one):
//! - ping: Berth connects (ssh, `dial-stdio`, version negotiation) and sends `/_ping`; the CLI
//!   runs `docker --context far version` (its `/_ping`, then `/version`).
//! - ps: Berth connects and lists containers; the CLI runs `docker --context far ps`.
//!
//! Berth keeps its ssh connection for the next request (the connection pool), so the same
//! calls on a connected engine are printed too; the CLI has no counterpart for those.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_api::engines::{Engines, SshClient};
use berth_core::BerthPaths;
use berth_engine::{ContainerFilter, ContextStore};
use berth_testkit::{Dockerd, RemoteShell, Sshd};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn docker(config: &Path, ssh_dir: &Path, args: &[&str]) -> Duration {
    let path = format!(
        "{}:{}",
        ssh_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let out = Command::new("docker")
        .args(args)
        .env("DOCKER_CONFIG", config)
        .env("PATH", path)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .output()
        .expect("run docker");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let d = Dockerd::start()?;
    let image = d.test_image()?;
    for i in 0..3 {
        let name = d.unique_name(&format!("bench-{i}"));
        berth_testkit::run(
            d.docker()
                .args(["run", "-d", "--name", &name, &image, "sleep", "3600"]),
        )?;
    }
    let sshd = Sshd::start_for(&d, RemoteShell::WithDocker)?;
    let home = tempfile::tempdir()?;
    let config = home.path().join("docker");
    std::fs::create_dir_all(&config)?;
    let engines = Engines::new(
        BerthPaths::under(&home.path().join("berth")),
        ContextStore::new(&config),
        SshClient {
            program: sshd.ssh_program(),
        },
    );
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(engines.add("far", &sshd.address(), None))?;
    // The CLI's own ssh:// context, which Berth writes for `berth engines use far`.
    engines.use_engine("far")?;
    let ssh_dir = sshd.path_dir();
    let all = ContainerFilter {
        all: true,
        ..Default::default()
    };

    let (mut berth_ping, mut cli_ping, mut berth_ps, mut cli_ps) = (vec![], vec![], vec![], vec![]);
    let (mut warm_ping, mut warm_ps) = (vec![], vec![]);
    let warm = runtime.block_on(engines.connect("far"))?;
    for _ in 0..rounds {
        runtime.block_on(async {
            let started = Instant::now();
            let engine = engines.connect("far").await.expect("connect");
            engine.ping().await.expect("ping");
            berth_ping.push(started.elapsed());

            let started = Instant::now();
            let engine = engines.connect("far").await.expect("connect");
            let listed = engine.list_containers(&all).await.expect("list");
            berth_ps.push(started.elapsed());
            assert!(listed.len() >= 3);

            let started = Instant::now();
            warm.ping().await.expect("ping");
            warm_ping.push(started.elapsed());
            let started = Instant::now();
            warm.list_containers(&all).await.expect("list");
            warm_ps.push(started.elapsed());
        });
        cli_ping.push(docker(
            &config,
            &ssh_dir,
            &[
                "--context",
                "far",
                "version",
                "--format",
                "{{.Server.Version}}",
            ],
        ));
        cli_ps.push(docker(&config, &ssh_dir, &["--context", "far", "ps", "-a"]));
    }

    let (bp, cp, bs, cs) = (
        median(berth_ping),
        median(cli_ping),
        median(berth_ps),
        median(cli_ps),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "{rounds} rounds, medians, over ssh to a private dockerd (load: {})",
        load()
    );
    println!("| call | Berth (new ssh connection) | docker CLI ssh:// context | ratio Berth/CLI |");
    println!("|------|---------------------------:|--------------------------:|----------------:|");
    println!(
        "| /_ping | {} | {} | {:.2} |",
        ms(bp),
        ms(cp),
        ratio(bp, cp)
    );
    println!(
        "| docker ps | {} | {} | {:.2} |",
        ms(bs),
        ms(cs),
        ratio(bs, cs)
    );
    println!(
        "Berth on a connected engine (its ssh connection kept): /_ping {}, ps {}",
        ms(median(warm_ping)),
        ms(median(warm_ps))
    );
    Ok(())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
