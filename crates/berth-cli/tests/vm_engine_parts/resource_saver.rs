//! The Resource Saver phase of the VM tier, in the same boot as the rest: the engine pauses
//! after `engine.pause_when_idle` with nothing running, costs no CPU while paused, and wakes for
//! the stock CLI and for a published port; the guest's clock is right after a long pause.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_testkit::wait_until;

use super::vm_support::{run, Env};

const IDLE: Duration = Duration::from_secs(20);

/// QEMU's CPU time (user + system) so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("qemu stat");
    // The command name may hold spaces: the fields after it start past the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_sec: u64 = run(
        std::process::Command::new("getconf").arg("CLK_TCK"),
        "getconf CLK_TCK",
    )
    .trim()
    .parse()
    .unwrap();
    Duration::from_millis(ticks * 1000 / per_sec)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Waits until `berth status` says paused; returns how long that took.
fn wait_paused(env: &Env, deadline: Duration) -> Duration {
    let began = Instant::now();
    if let Err(err) = wait_until(deadline, "the engine to pause", || {
        (env.state() == "paused").then_some(())
    }) {
        let log = env.log("daemon.log");
        let tail: Vec<&str> = log.lines().rev().take(25).collect();
        panic!(
            "{err:?}; Resource Saver says {}; the daemon's log ends:\n{}",
            env.status()["daemon"]["idle"],
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    began.elapsed()
}

pub fn check(
    env: &Env,
    image: &str,
    tcp_get: impl Fn(u16) -> std::io::Result<String>,
    host_memory_mib: impl Fn(&Env) -> u64,
) {
    run(
        &mut env.berth(&["settings", "set", "engine.pause_when_idle", "20s"]),
        "set pause_when_idle",
    );
    let qemu = env.qemu_pid().expect("qemu pid");

    // A running container keeps the engine awake past the idle time.
    let sleeper = run(
        &mut env.docker(&["run", "-d", image, "sleep", "600"]),
        "docker run -d sleep",
    );
    std::thread::sleep(IDLE + Duration::from_secs(10));
    assert_eq!(env.state(), "running", "a running container keeps it awake");
    run(
        &mut env.docker(&["rm", "-f", sleeper.trim()]),
        "docker rm -f",
    );

    // Idle: paused 20-40 s after the last docker command. Its first 15 s are the running idle
    // engine's cost, side by side with the paused one's below.
    let idle_from = Instant::now();
    let cpu_idle = cpu_time(qemu);
    let rss_idle = host_memory_mib(env);
    std::thread::sleep(Duration::from_secs(15));
    let idle_share = (cpu_time(qemu) - cpu_idle).as_secs_f64() / 15.0 * 100.0;
    eprintln!("running, idle, no container: QEMU used {idle_share:.2}% CPU over 15 s, holds {rss_idle} MiB");
    assert_eq!(env.state(), "running", "not paused before pause_when_idle");
    wait_paused(env, Duration::from_secs(45));
    let paused_after = idle_from.elapsed();
    eprintln!("paused {paused_after:.1?} after the last docker command (pause_when_idle 20s)");
    assert!(
        // The idle time runs from the CLI's last connection, just before the command ended.
        paused_after >= IDLE - Duration::from_secs(1) && paused_after <= IDLE * 2,
        "paused after {paused_after:?}"
    );
    let paused_at = Instant::now();

    // No CPU while paused; the memory it holds.
    let cpu_before = cpu_time(qemu);
    std::thread::sleep(Duration::from_secs(30));
    let used = cpu_time(qemu) - cpu_before;
    let share = used.as_secs_f64() / 30.0 * 100.0;
    let rss = host_memory_mib(env);
    eprintln!("paused: QEMU used {used:?} of CPU in 30 s ({share:.3}%), holds {rss} MiB");
    assert!(share < 0.2, "QEMU used {share:.3}% CPU while paused");
    assert_eq!(env.state(), "paused", "berth status does not wake it");

    // After a 60 s pause the stock CLI wakes it, and the guest's clock is the host's.
    std::thread::sleep(Duration::from_secs(60).saturating_sub(paused_at.elapsed()));
    let waking = Instant::now();
    let ps = run(&mut env.docker(&["ps", "-q"]), "docker ps (wakes)");
    let woke_in = waking.elapsed();
    eprintln!("docker ps woke the engine and answered in {woke_in:.2?}");
    assert!(ps.trim().is_empty(), "{ps}");
    assert_eq!(env.state(), "running");
    let before = unix_now();
    let guest = run(
        &mut env.docker(&["run", "--rm", image, "date", "+%s"]),
        "date in a container",
    );
    let after = unix_now();
    let guest: f64 = guest.trim().parse().expect("date +%s");
    eprintln!(
        "after a {:.0?} pause: the guest's clock {guest} s, the host's {before:.1}..{after:.1} s",
        waking.duration_since(paused_at)
    );
    assert!(
        guest >= before.floor() - 1.0 && guest <= after + 1.0,
        "the guest's clock is {guest}, the host's was {before:.1}..{after:.1}"
    );

    // A published port wakes it too (paused by hand: a running container keeps it awake).
    let port = berth_testkit::free_port();
    let web = super::vm_support::run_web(env, image, port, "hello-wake");
    wait_until(Duration::from_secs(60), "the published port", || {
        tcp_get(port).ok().filter(|b| b.contains("hello-wake"))
    })
    .unwrap();
    run(&mut env.berth(&["pause"]), "berth pause");
    assert_eq!(env.state(), "paused");
    let waking = Instant::now();
    let body = tcp_get(port).expect("the published port answers a paused engine");
    eprintln!(
        "a request to a published port woke the engine and was answered in {:.2?}",
        waking.elapsed()
    );
    assert!(body.contains("hello-wake"), "{body}");
    assert_eq!(env.state(), "running");
    run(
        &mut env.docker(&["rm", "-f", web.trim()]),
        "docker rm -f web",
    );
    // What follows (stop/start, a crash) starts from a paused engine; no pause by itself.
    run(
        &mut env.berth(&["settings", "set", "engine.pause_when_idle", "0"]),
        "pause_when_idle off",
    );
}
