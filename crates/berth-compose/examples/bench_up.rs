//! Wall time of `up -d` for the two-service project (web waits for a healthy db), Berth's
//! `berth-compose` vs Debian's `docker-compose` 1.29, on the same private engine.
//!
//! Run (as root, needs dockerd and docker-compose):
//!   cargo build --release -p berth-compose --bins --examples
//!   target/release/examples/bench_up [rounds]
//!
//! Where the time goes (per engine call, timed through a proxy on the socket; see `hold`):
//! `up` is bound by the engine. For the healthy variant, after ~10 ms of client work:
//! create the network (70-120 ms; the containers are created meanwhile, 15-50 ms), start db
//! (250-350 ms), db's first health probe (its 300 ms interval plus the probe, ~340 ms after
//! the start; Berth sees it at once through the engine's `health_status` event), start web
//! (250-320 ms). That is ~0.9 s an idle machine cannot go below without breaking
//! `service_healthy`; docker-compose 1.29 adds ~0.6 s of Python start-up, creates one
//! container at a time and polls health every 100 ms.
//!
//! Measured with `BENCH_BASELINE` (medians, the three tools interleaved round by round; the
//! machine has 2 cores shared with other builds, so the load average is given):
//!
//! | variant, load            | berth before | berth after | docker-compose 1.29 | ratio before | after |
//! |--------------------------|-------------:|------------:|--------------------:|-------------:|------:|
//! | healthy, ~10 (9 rounds)  |      1.676 s |     1.553 s |             2.659 s |         0.63 |  0.58 |
//! | started, ~10 (9 rounds)  |      1.269 s |     0.988 s |             2.139 s |         0.59 |  0.46 |
//! | healthy, ~4 (11 rounds)  |      1.159 s |     1.023 s |             1.584 s |         0.73 |  0.65 |
//! | started, ~4 (11 rounds)  |      0.660 s |     0.634 s |             1.279 s |         0.52 |  0.50 |
//!
//! On a quieter machine docker-compose's own start-up shrinks and both tools approach the
//! engine's floor, so the healthy variant cannot reach 0.5 there: Berth's best rounds
//! (0.81 s) are already within ~0.1 s of the engine calls above.
//!
//! `BENCH_BASELINE=/path/to/an/older/berth-compose` adds that binary as a third contender,
//! interleaved with the others round by round, for a before/after under the same load.
//!
//! `bench_up hold FILE` starts the engine, writes both projects under its root, prints
//! `DOCKER_HOST` and their directories, and keeps the engine up while FILE exists (for
//! profiling one tool by hand, e.g. through a timing proxy on the engine socket).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_testkit::{run, Dockerd};

fn project(image: &str, healthy: bool) -> String {
    let condition = if healthy {
        "service_healthy"
    } else {
        "service_started"
    };
    format!(
        r#"services:
  db:
    image: {image}
    command: ["sh", "-c", "touch /tmp/ready && exec sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 100
  web:
    image: {image}
    command: ["sleep", "3600"]
    environment:
      GREETING: hello
    depends_on:
      db:
        condition: {condition}
"#
    )
}

fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    run(cmd).unwrap_or_else(|e| panic!("{e}"));
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("hold") {
        let marker = PathBuf::from(std::env::args().nth(2).expect("hold FILE"));
        return hold(&marker);
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let berth_bin: PathBuf = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("berth-compose");
    assert!(
        berth_bin.is_file(),
        "build the binary first: cargo build --release -p berth-compose --bins --examples"
    );
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    for healthy in [true, false] {
        bench(&d, &berth_bin, &image, healthy, rounds);
    }
}

fn hold(marker: &Path) {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    println!("DOCKER_HOST={}", d.docker_host());
    for healthy in [true, false] {
        let dir = d.root().join(format!("bench-{healthy}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("compose.yaml"), project(&image, healthy)).unwrap();
        println!(
            "PROJECT_{}={}",
            if healthy { "HEALTHY" } else { "STARTED" },
            dir.display()
        );
    }
    let deadline = Instant::now() + Duration::from_secs(3600);
    while marker.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn bench(d: &Dockerd, berth_bin: &Path, image: &str, healthy: bool, rounds: usize) {
    let dir = d.root().join(format!("bench-{healthy}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("compose.yaml"), project(image, healthy)).unwrap();

    let tool = |bin: &Path, name: &str, args: &[&str]| {
        let mut c = Command::new(bin);
        c.current_dir(&dir)
            .env("DOCKER_HOST", d.docker_host())
            .env_remove("DOCKER_CONTEXT")
            .args(["-f", "compose.yaml", "-p", name])
            .args(args);
        c
    };
    let legacy = Path::new("/usr/bin/docker-compose");
    let baseline = std::env::var_os("BENCH_BASELINE").map(PathBuf::from);
    let (mut berth, mut compose, mut before) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        if let Some(old) = &baseline {
            let name = format!("a{i}{healthy}");
            before.push(timed(&mut tool(old, &name, &["up", "-d"])));
            timed(&mut tool(old, &name, &["down", "-v", "-t", "1"]));
        }
        let name = format!("b{i}{healthy}");
        berth.push(timed(&mut tool(berth_bin, &name, &["up", "-d"])));
        timed(&mut tool(berth_bin, &name, &["down", "-v", "-t", "1"]));
        let name = format!("c{i}{healthy}");
        compose.push(timed(&mut tool(legacy, &name, &["up", "-d"])));
        timed(&mut tool(legacy, &name, &["down", "-v", "-t", "1"]));
    }
    let (b, c) = (median(berth.clone()), median(compose.clone()));
    let wait = if healthy { "healthy" } else { "started" };
    println!("up -d, two services (web waits for {wait} db), {rounds} rounds, median:");
    println!(
        "  berth-compose      {:>7.3} s   (all: {berth:?})",
        b.as_secs_f64()
    );
    println!(
        "  docker-compose 1.29 {:>6.3} s   (all: {compose:?})",
        c.as_secs_f64()
    );
    println!(
        "  ratio berth/docker-compose = {:.2}",
        b.as_secs_f64() / c.as_secs_f64()
    );
    if !before.is_empty() {
        let a = median(before.clone());
        println!(
            "  baseline berth      {:>7.3} s   (all: {before:?}), ratio {:.2}",
            a.as_secs_f64(),
            a.as_secs_f64() / c.as_secs_f64()
        );
    }
}
