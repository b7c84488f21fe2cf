//! The guest's page cache, kept from pinning the host's memory.
//!
//! Free page reporting gives the host every page the guest frees, but the kernel frees no page
//! cache on its own while memory is plentiful: a container that reads 1 GiB from its volume
//! leaves 1 GiB held on the host long after it exits. That cache is a second copy: the host
//! caches the same disk image itself. So, as WSL's `autoMemoryReclaim=dropcache` does, once the
//! guest's CPUs have been idle for a while and the cache that can be dropped has grown past a
//! threshold, the agent drops it (clean page cache only: dentries and inodes stay) and compacts
//! memory, and the balloon hands the pages back. A busy guest is never trimmed, so a build or a
//! database keeps its cache while it works.

use std::time::Duration;

/// When to trim.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How often the CPU and memory are read.
    pub interval: Duration,
    /// How many readings in a row must be idle.
    pub idle_readings: usize,
    /// The largest share of CPU time busy in one reading that still counts as idle.
    pub idle_busy_max: f64,
    /// The cache that can be dropped must be larger than this.
    pub threshold_kib: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            interval: Duration::from_secs(10),
            // 30 s without work, as the idle detection WSL's reclaim waits for.
            idle_readings: 3,
            idle_busy_max: 0.05,
            threshold_kib: 128 * 1024,
        }
    }
}

/// The CPU counters of `/proc/stat`'s first line: (busy, total) jiffies.
pub fn cpu_counters(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// The page cache that dropping would free, in KiB: `Cached` (which counts tmpfs and shared
/// memory, `Shmem`, that no drop can free) plus block-device `Buffers`.
pub fn droppable_cache_kib(meminfo: &str) -> Option<u64> {
    let field = |name: &str| {
        meminfo.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    let cached = field("Cached")?;
    let buffers = field("Buffers").unwrap_or(0);
    let shmem = field("Shmem").unwrap_or(0);
    Some((cached + buffers).saturating_sub(shmem))
}

/// The trimmer's memory of the last readings.
#[derive(Debug, Default)]
pub struct Trimmer {
    last: Option<(u64, u64)>,
    idle_in_a_row: usize,
}

impl Trimmer {
    /// Takes one reading; true when the cache should be dropped now.
    pub fn reading(&mut self, policy: &Policy, cpu: (u64, u64), droppable_kib: u64) -> bool {
        let previous = self.last.replace(cpu);
        let Some((busy0, total0)) = previous else {
            return false;
        };
        let (busy, total) = (cpu.0.saturating_sub(busy0), cpu.1.saturating_sub(total0));
        let idle = total > 0 && (busy as f64 / total as f64) <= policy.idle_busy_max;
        self.idle_in_a_row = if idle { self.idle_in_a_row + 1 } else { 0 };
        if self.idle_in_a_row >= policy.idle_readings && droppable_kib > policy.threshold_kib {
            self.idle_in_a_row = 0;
            return true;
        }
        false
    }
}

/// Drops the clean page cache and compacts memory (the balloon then reports the pages).
pub fn drop_page_cache() -> Result<(), String> {
    nix::unistd::sync();
    // 1: page cache only.
    std::fs::write("/proc/sys/vm/drop_caches", b"1\n")
        .map_err(|e| format!("/proc/sys/vm/drop_caches: {e}"))?;
    if let Err(e) = std::fs::write("/proc/sys/vm/compact_memory", b"1\n") {
        tracing::debug!(error = %e, "cannot compact memory");
    }
    Ok(())
}

/// Runs for the agent's life, in a guest whose memory the agent owns.
pub async fn run(policy: Policy) {
    let mut trimmer = Trimmer::default();
    let mut ticks = tokio::time::interval(policy.interval);
    loop {
        ticks.tick().await;
        let (Ok(stat), Ok(meminfo)) = (
            std::fs::read_to_string("/proc/stat"),
            std::fs::read_to_string("/proc/meminfo"),
        ) else {
            continue;
        };
        let (Some(cpu), Some(droppable)) = (cpu_counters(&stat), droppable_cache_kib(&meminfo))
        else {
            continue;
        };
        if trimmer.reading(&policy, cpu, droppable) {
            match tokio::task::spawn_blocking(drop_page_cache).await {
                Ok(Ok(())) => tracing::info!(
                    cache_mib = droppable / 1024,
                    "the guest was idle: dropped its page cache for the host"
                ),
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot drop the page cache"),
                Err(e) => tracing::warn!(error = %e, "the page-cache trim did not run"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_stat_and_meminfo() {
        let stat = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n";
        assert_eq!(cpu_counters(stat), Some((160, 1000)));
        assert_eq!(cpu_counters("intr 1 2 3\n"), None);
        let meminfo = "MemTotal:        2000000 kB\nBuffers:           10240 kB\n\
                       Cached:           600000 kB\nSwapCached:            0 kB\n\
                       Shmem:            100000 kB\n";
        assert_eq!(droppable_cache_kib(meminfo), Some(510_240));
        assert_eq!(droppable_cache_kib("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn trims_only_after_enough_idle_readings_with_enough_cache() {
        let policy = Policy::default();
        let big = 512 * 1024;
        let mut t = Trimmer::default();
        // The first reading has nothing to compare with.
        assert!(!t.reading(&policy, (0, 0), big));
        // Busy (50 %), then idle three times: the third idle reading trims.
        assert!(!t.reading(&policy, (50, 100), big));
        assert!(!t.reading(&policy, (51, 200), big));
        assert!(!t.reading(&policy, (52, 300), big));
        assert!(t.reading(&policy, (53, 400), big));
        // Counting starts again after a trim.
        assert!(!t.reading(&policy, (54, 500), big));
        // Idle, but too little cache to bother.
        let mut t = Trimmer::default();
        for i in 0..10 {
            assert!(!t.reading(&policy, (i, i * 100), 1024));
        }
        // Work in between resets the count.
        let mut t = Trimmer::default();
        let readings = [(0, 0), (1, 100), (2, 200), (80, 300), (81, 400), (82, 500)];
        assert!(readings.iter().all(|r| !t.reading(&policy, *r, big)));
        assert!(t.reading(&policy, (83, 600), big));
    }
}
