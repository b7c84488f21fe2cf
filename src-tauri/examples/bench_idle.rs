//! Bench: the dashboard's idle memory and CPU next to the floor, a minimal Tauri 2 window
//! (`minimal_window`), measured in the same run under the same Xvfb.
//!
//! ```text
//! cargo build --release -p berth-app --bin berth-app --example minimal_window --example bench_idle
//! target/release/examples/bench_idle [seconds]
//! ```
//! The app runs against a private dockerd with 20 running containers (`BENCH_RUNNING`; its event
//! stream and the visible rows' stats streams are live). Each process tree (the app and its WebKit
//! processes) is sampled every 2 s for `seconds` (default 60) after a 10 s settle: PSS summed
//! over the tree from `/proc/<pid>/smaps_rollup`, CPU from `/proc/<pid>/stat` deltas.
//! Two modes, both printed: each window alone in turn (the floor as the issue measured it, shared
//! libraries counted wholly), then both together on one screen (shared WebKit pages split between
//! the two). Prints mean and max PSS, CPU %, and the ratio app/floor for each. Needs Xvfb (run as
//! root for PSS of every process).

#[path = "../tests/ui_support/mod.rs"]
mod ui_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_testkit::Dockerd;
use ui_support::Display;

const SETTLE: Duration = Duration::from_secs(10);
const EVERY: Duration = Duration::from_secs(2);
/// Running containers on the engine (`BENCH_RUNNING`, default 20): the visible rows of running
/// containers each hold a stats stream.
fn running() -> usize {
    std::env::var("BENCH_RUNNING")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

struct Tree {
    name: &'static str,
    child: Child,
    pss_mib: Vec<f64>,
    cpu_percent: f64,
    last: Vec<(String, f64)>,
}

impl Drop for Tree {
    fn drop(&mut self) {
        // The app's WebKit helpers are its children: end the whole group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let exe_dir = std::env::current_exe()
        .expect("current exe")
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let app_bin = exe_dir.join("berth-app");
    let floor_bin = exe_dir.join("examples/minimal_window");
    for bin in [&app_bin, &floor_bin] {
        assert!(
            bin.is_file(),
            "{} is missing: build it first (see this file's header)",
            bin.display()
        );
    }

    let d = Dockerd::start().expect("dockerd");
    let image = d.test_image().expect("test image");
    for i in 0..running() {
        let out = d
            .docker()
            .args([
                "run",
                "-d",
                "--name",
                &format!("idle-{i:02}"),
                &image,
                "sleep",
                "3600",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("docker run");
        assert!(out.success(), "docker run idle-{i:02}");
    }
    let home = tempfile::tempdir().expect("home");
    let display = Display::start();

    let spawn = |name: &'static str, bin: &PathBuf| -> Tree {
        let mut cmd = Command::new(bin);
        cmd.env("DISPLAY", &display.name)
            .env("DOCKER_HOST", d.docker_host())
            .env("BERTH_HOME", home.path())
            .env("DOCKER_CONFIG", home.path().join("docker-config"))
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        Tree {
            name,
            child: cmd.spawn().expect("spawn"),
            pss_mib: Vec::new(),
            cpu_percent: 0.0,
            last: Vec::new(),
        }
    };
    // Alone: each window by itself, in turn, so shared libraries count wholly to the one process
    // tree that maps them, as they do on a desktop running only Berth. This is the issue's floor.
    let mut alone = Vec::new();
    for (name, bin) in [("berth-app", &app_bin), ("minimal", &floor_bin)] {
        let mut trees = [spawn(name, bin)];
        measure(&mut trees, seconds);
        alone.extend(trees.map(Summary::from));
    }
    report("alone, one after the other", seconds, &alone);
    // Together: both at once on one screen. Each tree then owns only half of the WebKit pages both
    // touch, so the shared part shrinks and the difference weighs more; shown for comparison.
    let mut trees = [spawn("berth-app", &app_bin), spawn("minimal", &floor_bin)];
    measure(&mut trees, seconds);
    report("together, side by side", seconds, &trees.map(Summary::from));
}

/// Waits for each tree's web process (GTK may first wait out a D-Bus timeout), lets it settle,
/// then samples PSS every `EVERY` and CPU over the whole window.
fn measure(trees: &mut [Tree], seconds: u64) {
    let launched = Instant::now();
    while !trees.iter().all(|t| has_web_process(t.child.id())) {
        assert!(
            launched.elapsed() < Duration::from_secs(120),
            "no WebKit web process after 120 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(SETTLE);
    let start_ticks: Vec<u64> = trees.iter().map(|t| tree_ticks(t.child.id())).collect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        for tree in trees.iter_mut() {
            tree.pss_mib
                .push(tree_pss_kib(tree.child.id()) as f64 / 1024.0);
        }
        std::thread::sleep(EVERY);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let hz = clock_ticks_per_second();
    for (tree, start) in trees.iter_mut().zip(start_ticks) {
        tree.cpu_percent =
            tree_ticks(tree.child.id()).saturating_sub(start) as f64 / hz / elapsed * 100.0;
        tree.last = tree_pids(tree.child.id())
            .into_iter()
            .map(|pid| {
                let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                (
                    name.trim().to_string(),
                    tree_pss_kib_one(pid) as f64 / 1024.0,
                )
            })
            .collect();
    }
}

/// One tree's figures, kept after its processes have been ended.
struct Summary {
    name: &'static str,
    mean: f64,
    max: f64,
    cpu_percent: f64,
    last: Vec<(String, f64)>,
}

impl From<Tree> for Summary {
    fn from(mut tree: Tree) -> Summary {
        let samples = &tree.pss_mib;
        Summary {
            name: tree.name,
            mean: samples.iter().sum::<f64>() / samples.len().max(1) as f64,
            max: samples.iter().cloned().fold(0.0, f64::max),
            cpu_percent: tree.cpu_percent,
            last: std::mem::take(&mut tree.last),
        }
    }
}

fn report(mode: &str, seconds: u64, summaries: &[Summary]) {
    println!(
        "\n{mode}: idle over {seconds} s after a {} s settle, sampled every {} s",
        SETTLE.as_secs(),
        EVERY.as_secs()
    );
    println!(
        "{:<10} {:>14} {:>13} {:>8}   last sample per process (MiB)",
        "tree", "PSS mean MiB", "PSS max MiB", "CPU %"
    );
    for s in summaries {
        let processes: Vec<String> = s
            .last
            .iter()
            .map(|(name, mib)| format!("{name} {mib:.1}"))
            .collect();
        println!(
            "{:<10} {:>14.1} {:>13.1} {:>8.2}   {}",
            s.name,
            s.mean,
            s.max,
            s.cpu_percent,
            processes.join(", ")
        );
    }
    println!(
        "ratio berth-app/minimal PSS ({mode}): {:.2}x",
        summaries[0].mean / summaries[1].mean
    );
}

/// The process and all its descendants (WebKit's web and network processes), from /proc.
fn tree_pids(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rfind(')')
            .and_then(|i| stat[i + 2..].split_whitespace().nth(1)?.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((pid, ppid));
        }
    }
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() {
        let parent = pids[i];
        pids.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    pids
}

fn has_web_process(root: u32) -> bool {
    tree_pids(root).into_iter().any(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|name| name.starts_with("WebKitWebProces"))
    })
}

fn tree_pss_kib(root: u32) -> u64 {
    tree_pids(root).into_iter().map(tree_pss_kib_one).sum()
}

fn tree_pss_kib_one(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .unwrap_or(0)
}

/// utime + stime of every process in the tree, in clock ticks.
fn tree_ticks(root: u32) -> u64 {
    tree_pids(root)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command name, which may contain spaces, closed by ')'.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .sum()
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
