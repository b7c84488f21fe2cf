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
//!
//! Measured here (release build, 21 rounds, 2 cores shared with four other engineers' builds,
//! so the load average is given; medians, the fastest round in brackets):
//!
//! | load | /_ping Berth | /_ping CLI | ratio | docker ps Berth | docker ps CLI | ratio |
//! |-----:|-------------:|-----------:|------:|----------------:|--------------:|------:|
//! | 2.7  | 390.9 ms | 454.7 ms | 0.86 | 435.0 ms | 390.5 ms | 1.11 |
//! | 7.4  | 795.7 (514.3) ms | 671.8 (487.8) ms | 1.18 (1.05) | 682.4 (475.5) ms | 720.5 (508.0) ms | 0.95 (0.94) |
//!
//! (The first row is from before the rounds were interleaved and before a new engine stopped
//! opening a second ssh connection.) Both pay one ssh login and one remote `docker` start per
//! command, which is all of the time; the ratios stay within the noise of a shared machine. On
//! a connected engine Berth answers in 0.7-2 ms: the dashboard, which keeps its engine, pays
//! the login once.

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
    // Berth and the CLI take turns, so that each one's previous ssh connection ends (ssh,
    // sshd and the remote docker exit on this same machine) while the other one runs.
    let cli = |args: &[&str]| docker(&config, &ssh_dir, args);
    for _ in 0..rounds {
        berth_ping.push(runtime.block_on(async {
            let started = Instant::now();
            let engine = engines.connect("far").await.expect("connect");
            engine.ping().await.expect("ping");
            started.elapsed()
        }));
        cli_ping.push(cli(&[
            "--context",
            "far",
            "version",
            "--format",
            "{{.Server.Version}}",
        ]));
        berth_ps.push(runtime.block_on(async {
            let started = Instant::now();
            let engine = engines.connect("far").await.expect("connect");
            let listed = engine.list_containers(&all).await.expect("list");
            assert!(listed.len() >= 3);
            started.elapsed()
        }));
        cli_ps.push(cli(&["--context", "far", "ps", "-a"]));
        runtime.block_on(async {
            let started = Instant::now();
            warm.ping().await.expect("ping");
            warm_ping.push(started.elapsed());
            let started = Instant::now();
            warm.list_containers(&all).await.expect("list");
            warm_ps.push(started.elapsed());
        });
    }

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let fastest = |v: &[Duration]| v.iter().copied().min().unwrap_or_default();
    println!(
        "{rounds} rounds over ssh to a private dockerd (load: {})",
        load()
    );
    println!("| call | Berth, median (fastest) | docker CLI ssh:// context, median (fastest) | ratio of medians (fastest) |");
    println!("|------|------------------------:|--------------------------------------------:|---------------------------:|");
    for (call, berth, cli) in [
        ("/_ping", &berth_ping, &cli_ping),
        ("docker ps", &berth_ps, &cli_ps),
    ] {
        let (bm, cm) = (median(berth.clone()), median(cli.clone()));
        let (bf, cf) = (fastest(berth), fastest(cli));
        println!(
            "| {call} | {} ({}) | {} ({}) | {:.2} ({:.2}) |",
            ms(bm),
            ms(bf),
            ms(cm),
            ms(cf),
            ratio(bm, cm),
            ratio(bf, cf)
        );
    }
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
