//! Which hypervisor runs the VM: `vm.backend` made concrete ([`VmBackend::resolve`]), its
//! program found on the PATH or named by an environment variable. The same backend code then
//! drives the real vfkit or `wsl.exe`, or a stand-in for one built from real parts.

use std::sync::Arc;

use berth_core::settings::VmBackend;

use crate::{qemu, vfkit, wsl, Hypervisor, ProcessRunner, VmConfig, VmError};

/// Names the vfkit program (default: `vfkit` on the PATH).
pub const VFKIT_VAR: &str = "BERTH_VFKIT";
/// Names the `wsl.exe` program (default: `wsl.exe` on the PATH).
pub const WSL_EXE_VAR: &str = "BERTH_WSL_EXE";

/// The program a backend runs: the value of `var` when it is set and not empty, else `default`
/// (looked up on the PATH when it runs; [`crate::host_tools::check`] says when it is missing).
pub fn hypervisor_program(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// `%UserProfile%\.wslconfig` on Windows, where WSL reads its VM's settings; nowhere else (a
/// stand-in for `wsl.exe` has no such file to keep).
fn user_wslconfig() -> Option<std::path::PathBuf> {
    if !cfg!(windows) {
        return None;
    }
    std::env::var_os("USERPROFILE").map(|home| std::path::Path::new(&home).join(".wslconfig"))
}

/// The hypervisor `backend` names (`auto`: this OS's own), for `config`. Every backend builds on
/// every OS; one whose program is not there fails its host-tool check before anything starts.
pub fn create(
    backend: VmBackend,
    config: VmConfig,
    runner: Arc<dyn ProcessRunner>,
) -> Result<Box<dyn Hypervisor>, VmError> {
    Ok(match backend.resolve() {
        VmBackend::Auto | VmBackend::Qemu => {
            let accel = qemu::accel::probe();
            Box::new(qemu::QemuHypervisor::new(config, accel, runner))
        }
        VmBackend::Vfkit => {
            let program = hypervisor_program(VFKIT_VAR, "vfkit");
            Box::new(vfkit::VfkitHypervisor::new(config, runner).with_program(program))
        }
        VmBackend::Wsl => {
            let spec = wsl::WslSpec {
                distro: wsl::DISTRO.to_owned(),
                install_dir: config.data_dir.join("wsl"),
                rootfs_tar: config.image.dir.join("rootfs.tar"),
                agent: config.agent.clone(),
                wslconfig: user_wslconfig(),
                host_files: wsl::paths::HostFiles::of_this_host(),
            };
            let program = hypervisor_program(WSL_EXE_VAR, "wsl.exe");
            Box::new(wsl::WslHypervisor::new(spec, runner).with_program(program))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::RecordingRunner;
    use crate::{GuestImage, LinkKind, VmLink};

    fn config(root: &std::path::Path, link: VmLink) -> VmConfig {
        VmConfig {
            cpus: 2,
            memory_mib: 2048,
            disk_gib: 64,
            image: GuestImage {
                dir: root.join("image"),
                arch: "x86_64".into(),
                kernel_cmdline: "console=ttyS0".into(),
                hash: String::new(),
                docker_version: None,
            },
            agent: root.join("berth-agent"),
            run_dir: root.join("run"),
            data_dir: root.join("data"),
            logs_dir: root.join("logs"),
            shares: Vec::new(),
            backend: VmBackend::Auto,
            link,
        }
    }

    /// The programs each backend checks for (and so would spawn).
    fn programs(hv: &dyn Hypervisor) -> Vec<String> {
        hv.host_tools().into_iter().map(|t| t.program).collect()
    }

    #[test]
    fn each_backend_is_made_with_its_program_and_link() {
        let root = tempfile::tempdir().unwrap();
        let runner = Arc::new(RecordingRunner::new());
        let make = |backend, link| create(backend, config(root.path(), link), runner.clone());

        let qemu = make(VmBackend::Qemu, VmLink::Auto).unwrap();
        assert!(qemu.describe().starts_with("qemu"), "{}", qemu.describe());
        assert_eq!(qemu.link_kind(), LinkKind::Serial);
        let qemu = make(VmBackend::Qemu, VmLink::Vsock).unwrap();
        assert_eq!(qemu.link_kind(), LinkKind::Vsock);
        assert!(programs(qemu.as_ref())
            .iter()
            .any(|p| p.contains("vhost-device-vsock")));

        // Not set in this test process: the PATH names.
        let vfkit = make(VmBackend::Vfkit, VmLink::Auto).unwrap();
        assert_eq!(vfkit.describe(), "vfkit");
        assert_eq!(vfkit.link_kind(), LinkKind::Vsock);
        assert_eq!(programs(vfkit.as_ref()), ["vfkit"]);
        let wsl = make(VmBackend::Wsl, VmLink::Auto).unwrap();
        assert_eq!(wsl.link_kind(), LinkKind::Stdio);
        assert_eq!(programs(wsl.as_ref()), ["wsl.exe"]);
    }

    #[test]
    fn a_variable_names_the_program() {
        // A name no other test sets: the process environment is shared between tests.
        let var = "BERTH_TEST_HYPERVISOR_PROGRAM";
        assert_eq!(hypervisor_program(var, "vfkit"), "vfkit");
        std::env::set_var(var, "/opt/stand-in/vfkit");
        assert_eq!(hypervisor_program(var, "vfkit"), "/opt/stand-in/vfkit");
        std::env::set_var(var, "");
        assert_eq!(hypervisor_program(var, "vfkit"), "vfkit");
        std::env::remove_var(var);
    }
}
