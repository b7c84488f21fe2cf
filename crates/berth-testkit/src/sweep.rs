//! Cleanup of what dead test runs left behind (the last line of defence after `Drop` and the
//! watchdog: e.g. a watchdog killed with its whole session, or a VM snapshot restored mid-run).
//!
//! Everything the harness creates carries its owner's PID: `/tmp/bt-<pid>-<n>` and netns
//! `berth-t-<pid>-<n>`. An entry whose owner PID no longer exists is an orphan: every process
//! whose command line names its directory (dockerd, containerd, shims, registry, watchdog) is
//! stopped, then the netns and the directory go. Entries of live PIDs are never touched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{is_running, signal};
use crate::wait_until;

const DIR_PREFIX: &str = "bt-";
const NETNS_PREFIX: &str = "berth-t-";

/// Cleans up the temp dirs and netns of harness runs whose process is gone; returns the ids
/// (`<pid>-<n>`) it cleaned.
pub fn sweep_orphans() -> Vec<String> {
    let mut ids = BTreeSet::new();
    ids.extend(ids_in(Path::new("/tmp"), DIR_PREFIX));
    ids.extend(ids_in(Path::new("/var/run/netns"), NETNS_PREFIX));
    let orphans: Vec<String> = ids.into_iter().filter(|id| !owner_alive(id)).collect();
    for id in &orphans {
        clean(id);
    }
    orphans
}

/// `<pid>-<n>` ids of entries named `<prefix><pid>-<n>` in `dir`.
fn ids_in(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_prefix(prefix).map(str::to_owned))
        .filter(|id| parse_id(id).is_some())
        .collect()
}

/// The owner PID of an id `<pid>-<n>`, when it has that shape.
fn parse_id(id: &str) -> Option<u32> {
    let (pid, n) = id.split_once('-')?;
    n.parse::<u32>().ok()?;
    pid.parse().ok()
}

fn owner_alive(id: &str) -> bool {
    parse_id(id).is_none_or(is_running)
}

fn clean(id: &str) {
    let root = PathBuf::from(format!("/tmp/{DIR_PREFIX}{id}"));
    let marker = format!("{}/", root.display());
    let pids = processes_naming(&marker);
    // dockerd first and gently (it stops containerd and the containers), then whatever is left.
    for pid in &pids {
        signal(*pid, "TERM");
    }
    let _ = wait_until(Duration::from_secs(15), "orphaned daemons to exit", || {
        processes_naming(&marker).is_empty().then_some(())
    });
    for pid in processes_naming(&marker) {
        signal(pid, "KILL");
    }
    let _ = Command::new("ip")
        .args(["netns", "del", &format!("{NETNS_PREFIX}{id}")])
        .stderr(std::process::Stdio::null())
        .status();
    crate::dockerd::remove_tree(&root);
}

/// PIDs of processes whose command line contains `needle`.
fn processes_naming(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id() && is_running(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_need_a_pid_and_a_counter() {
        assert_eq!(parse_id("123-4"), Some(123));
        assert_eq!(parse_id("probe-4"), None);
        assert_eq!(parse_id("123"), None);
        assert_eq!(parse_id("123-x"), None);
    }

    #[test]
    fn our_own_entries_are_alive() {
        assert!(owner_alive(&format!("{}-0", std::process::id())));
        // Not ours to judge: unparsable names count as alive and are left alone.
        assert!(owner_alive("tail-x"));
    }

    #[test]
    fn a_dead_owner_is_an_orphan() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!owner_alive(&format!("{pid}-0")));
    }
}
