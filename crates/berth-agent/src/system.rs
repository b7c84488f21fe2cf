//! The guest system the link's `set_clock` and `release_memory` requests change.

use std::time::Duration;

use berth_link::guest::GuestSystem;

/// The real guest: its wall clock and its page cache.
#[derive(Debug)]
pub struct Guest;

impl GuestSystem for Guest {
    fn set_clock(&self, since_epoch: Duration) -> Result<(), String> {
        let now = nix::sys::time::TimeSpec::from_duration(since_epoch);
        nix::time::clock_settime(nix::time::ClockId::CLOCK_REALTIME, now)
            .map_err(|e| format!("clock_settime: {e}"))
    }

    fn release_memory(&self) -> Result<(), String> {
        // Dirty pages cannot be dropped: write them first. 3 = page cache, dentries, inodes.
        nix::unistd::sync();
        std::fs::write("/proc/sys/vm/drop_caches", b"3\n")
            .map_err(|e| format!("/proc/sys/vm/drop_caches: {e}"))?;
        // Gather the freed pages into large blocks: free page reporting sends whole
        // pageblocks (2 MiB) to the host, and scattered 4 KiB pages would stay.
        if let Err(e) = std::fs::write("/proc/sys/vm/compact_memory", b"1\n") {
            tracing::debug!(error = %e, "cannot compact memory");
        }
        Ok(())
    }
}
