//! How much of the host's memory a VM holds: its hypervisor process's resident set, which the
//! balloon's free page reporting shrinks once the guest frees memory.

/// The resident set of process `pid` in bytes, or `None` when it cannot be read (gone, or a
/// platform without a way here).
pub fn resident_bytes(pid: u32) -> Option<u64> {
    resident_bytes_of(pid)
}

#[cfg(target_os = "linux")]
fn resident_bytes_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    vm_rss_bytes(&status)
}

#[cfg(target_os = "macos")]
fn resident_bytes_of(pid: u32) -> Option<u64> {
    // `ps -o rss=` prints KiB.
    let out = std::process::Command::new("ps")
        .args(["-o", "rss=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let kib: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn resident_bytes_of(_pid: u32) -> Option<u64> {
    None
}

/// `VmRSS:` of a `/proc/<pid>/status` text (shared memory included: QEMU's memfd guest RAM),
/// in bytes.
pub fn vm_rss_bytes(status: &str) -> Option<u64> {
    let value = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = value.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_from_a_status_text() {
        let status = "Name:\tqemu-system-x86\nVmPeak:\t 3000000 kB\nVmRSS:\t  812344 kB\nRssAnon:\t 1000 kB\n";
        assert_eq!(vm_rss_bytes(status), Some(812_344 * 1024));
        assert_eq!(vm_rss_bytes("Name:\tx\n"), None);
        assert_eq!(vm_rss_bytes("VmRSS:\tlots\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_holds_some_memory_and_a_gone_one_none() {
        let own = resident_bytes(std::process::id()).unwrap();
        assert!(own > 1024 * 1024, "{own}");
        assert_eq!(resident_bytes(u32::MAX), None);
    }
}
