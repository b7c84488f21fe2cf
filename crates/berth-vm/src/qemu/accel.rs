//! Which accelerator QEMU gets: KVM only when `/dev/kvm` opens read-write *and* the CPU
//! advertises vmx/svm (a nested `/dev/kvm` without them hangs the guest), else TCG.

use super::spec::Accel;

/// TCG translation-block cache size: 256 MiB cut QEMU's RSS from ~1.8 GB to ~0.8 GB.
pub const TCG_TB_SIZE_MIB: u32 = 256;

/// The pure decision.
pub fn choose(kvm_usable: bool, cpuinfo: &str) -> Accel {
    let has_vt = cpuinfo
        .lines()
        .filter(|line| line.starts_with("flags"))
        .any(|line| line.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    if kvm_usable && has_vt {
        Accel::Kvm
    } else {
        Accel::Tcg {
            tb_size_mib: TCG_TB_SIZE_MIB,
        }
    }
}

/// Looks at this host.
pub fn probe() -> Accel {
    let kvm_usable = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    choose(kvm_usable, &cpuinfo)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VMX: &str = "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse\n";
    const PLAIN: &str = "processor\t: 0\nflags\t\t: fpu vme de pse sse hypervisor\n";

    #[test]
    fn kvm_needs_both_the_device_and_the_cpu_flag() {
        assert_eq!(choose(true, VMX), Accel::Kvm);
        assert_eq!(choose(true, &VMX.replace("vmx", "svm")), Accel::Kvm);
        let tcg = Accel::Tcg { tb_size_mib: 256 };
        assert_eq!(choose(true, PLAIN), tcg);
        assert_eq!(choose(false, VMX), tcg);
        // "vmx" inside another word is not the flag.
        assert_eq!(choose(true, &PLAIN.replace("sse", "vmxfoo")), tcg);
    }
}
