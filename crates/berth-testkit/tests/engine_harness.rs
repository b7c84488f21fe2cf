//! Self-tests of the harness against the real `dockerd` (tier 2).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_testkit::{run, wait_until, Dockerd, Registry};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn netns_exists(name: &str) -> bool {
    Path::new("/var/run/netns").join(name).exists()
}

/// A live process (a zombie waiting for PID 1 to reap it is not).
fn running(pid: impl std::fmt::Display) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

fn pid_of(d: &Dockerd) -> u32 {
    std::fs::read_to_string(d.root().join("dockerd.pid"))
        .expect("dockerd wrote its pid file")
        .trim()
        .parse()
        .expect("pid file holds a number")
}

#[test]
fn test_image_runs_echo() -> TestResult {
    let d = Dockerd::start()?;
    let image = d.test_image()?;
    let out = run(d
        .docker()
        .args(["run", "--rm", &image, "echo", "hello from busybox"]))?;
    assert_eq!(out.trim(), "hello from busybox");
    // PATH=/bin comes from the image config.
    let path = run(d
        .docker()
        .args(["run", "--rm", &image, "sh", "-c", "echo $PATH"]))?;
    assert_eq!(path.trim(), "/bin");
    // Cached per daemon: the second call does not import again.
    assert_eq!(d.test_image()?, image);
    Ok(())
}

#[test]
fn two_daemons_at_once_do_not_collide() -> TestResult {
    let a = Dockerd::start()?;
    let b = Dockerd::start()?;
    assert_ne!(a.socket(), b.socket());
    assert_ne!(a.netns(), b.netns());
    assert_ne!(a.unique_name("c"), b.unique_name("c"));
    // A container name used in one daemon is free in the other: they share no state.
    let image_a = a.test_image()?;
    let image_b = b.test_image()?;
    let name = "same-name-in-both";
    run(a
        .docker()
        .args(["create", "--name", name, &image_a, "true"]))?;
    run(b
        .docker()
        .args(["create", "--name", name, &image_b, "true"]))?;
    run(a.docker().args(["rm", name]))?;
    let in_b = run(b.docker().args(["ps", "-a", "--format", "{{.Names}}"]))?;
    assert_eq!(in_b.trim(), name);
    // Different bridge subnets.
    let subnet = |d: &Dockerd| {
        run(d.docker().args([
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{(index .IPAM.Config 0).Subnet}}",
        ]))
    };
    assert_ne!(subnet(&a)?, subnet(&b)?);
    Ok(())
}

#[test]
fn drop_leaves_no_process_netns_or_dir() -> TestResult {
    let d = Dockerd::start()?;
    let _ = d.test_image()?;
    // A running container makes dockerd stop it on shutdown.
    run(d
        .docker()
        .args(["run", "-d", &d.test_image()?, "sleep", "600"]))?;
    let pid = pid_of(&d);
    let containerd: u32 = std::fs::read_to_string(d.root().join("x/containerd/containerd.pid"))?
        .trim()
        .parse()?;
    let (netns, root) = (d.netns().to_owned(), d.root().to_owned());
    assert!(running(pid));
    assert!(netns_exists(&netns));
    drop(d);
    assert!(!running(pid), "dockerd still runs");
    assert!(!running(containerd), "containerd still runs");
    assert!(!netns_exists(&netns), "netns {netns} left behind");
    assert!(!root.exists(), "{} left behind", root.display());
    Ok(())
}

/// A daemon owned by another process (this test binary re-run as `helper_hold_a_daemon`).
struct Held {
    child: std::process::Child,
    dockerd_pid: String,
    netns: String,
    root: String,
}

impl Held {
    fn start() -> Result<Held, Box<dyn std::error::Error>> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "--exact",
                "helper_hold_a_daemon",
                "--ignored",
                "--nocapture",
            ])
            .env("BERTH_TESTKIT_HELPER", "1")
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.starts_with("HELD ") && tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(90));
        let Ok(line) = line else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("helper did not report a daemon: {line:?}").into());
        };
        let mut parts = line.split(' ').skip(1).map(str::to_owned);
        let mut next = || parts.next().ok_or("short HELD line");
        Ok(Held {
            dockerd_pid: next()?,
            netns: next()?,
            root: next()?,
            child,
        })
    }

    fn all_gone(&self) -> bool {
        self.leftovers().is_empty()
    }

    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        if running(&self.dockerd_pid) {
            left.push(format!("dockerd {}", self.dockerd_pid));
        }
        if netns_exists(&self.netns) {
            left.push(format!("netns {}", self.netns));
        }
        if Path::new(&self.root).exists() {
            left.push(self.root.clone());
        }
        left
    }
}

#[test]
fn watchdog_cleans_up_after_a_killed_test_process() -> TestResult {
    let mut held = Held::start()?;
    held.child.kill()?;
    held.child.wait()?;
    wait_until(Duration::from_secs(30), "watchdog cleanup", || {
        held.all_gone().then_some(())
    })?;
    Ok(())
}

#[test]
fn sweep_cleans_up_when_even_the_watchdog_died() -> TestResult {
    let mut held = Held::start()?;
    // Kill the watchdog first (it names the temp dir on its command line), then the owner.
    let watchdogs: Vec<u32> = std::fs::read_dir("/proc")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("berth-testkit-watchdog") && c.contains(&held.root)
            })
        })
        .collect();
    assert_eq!(watchdogs.len(), 1, "expected one watchdog: {watchdogs:?}");
    let watchdog = watchdogs[0].to_string();
    run(Command::new("sh").args(["-c", r#"kill -KILL "$1""#, "sh", &watchdog]))?;
    held.child.kill()?;
    held.child.wait()?;
    assert!(Path::new(&held.root).exists(), "nothing left to sweep");
    let id = held.root.trim_start_matches("/tmp/bt-").to_owned();
    let swept = berth_testkit::sweep_orphans();
    assert!(swept.contains(&id), "{id} not in {swept:?}");
    assert!(held.all_gone(), "sweep left {:?} behind", held.leftovers());
    Ok(())
}

/// Not a test on its own: run by `watchdog_cleans_up_after_a_killed_test_process`.
#[test]
#[ignore = "helper process for the watchdog test"]
fn helper_hold_a_daemon() -> TestResult {
    if std::env::var_os("BERTH_TESTKIT_HELPER").is_none() {
        // `--include-ignored` runs: nothing to hold for.
        return Ok(());
    }
    let d = Dockerd::start()?;
    println!("HELD {} {} {}", pid_of(&d), d.netns(), d.root().display());
    // Hold the daemon until the parent SIGKILLs us (it does so right after reading the line).
    std::thread::sleep(Duration::from_secs(600));
    Ok(())
}

#[test]
fn registry_with_auth_takes_a_push_and_a_pull() -> TestResult {
    let d = Dockerd::start()?;
    let reg = Registry::start_in(&d, Some(("tester", "s3cret")))?;
    let image = d.test_image()?;
    let remote = format!("{}/berth/busybox:1", reg.addr());
    run(d.docker().args(["tag", &image, &remote]))?;
    // Without login the push is refused.
    let refused = run(d.docker().args(["push", &remote]));
    assert!(refused.is_err(), "push without credentials succeeded");
    reg.login(&d)?;
    run(d.docker().args(["push", &remote]))?;
    run(d.docker().args(["rmi", &remote]))?;
    run(d.docker().args(["pull", &remote]))?;
    let out = run(d.docker().args(["run", "--rm", &remote, "echo", "pulled"]))?;
    assert_eq!(out.trim(), "pulled");
    Ok(())
}

#[test]
fn payload_image_has_its_size() -> TestResult {
    let d = Dockerd::start()?;
    let tag = "berth-test/payload:5";
    d.payload_image(tag, 5)?;
    let size: u64 = run(d
        .docker()
        .args(["image", "inspect", tag, "--format", "{{.Size}}"]))?
    .trim()
    .parse()?;
    assert!(size > 5 * 1024 * 1024, "size {size}");
    Ok(())
}
