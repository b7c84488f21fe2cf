//! `vm.backend` and `vm.link`: which hypervisor runs the VM, and which byte stream joins the
//! host to the guest agent. `auto` lets Berth choose: the OS's own hypervisor, and the link that
//! backend does best ([`VmLink::resolve`]).

use serde::{Deserialize, Serialize};

/// `vm.backend`: the hypervisor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmBackend {
    /// The OS's own: QEMU on Linux, vfkit on macOS, WSL 2 on Windows.
    #[default]
    Auto,
    Qemu,
    Vfkit,
    Wsl,
}

impl VmBackend {
    /// `auto` made concrete for the OS Berth was built for.
    pub fn resolve(self) -> VmBackend {
        match self {
            VmBackend::Auto if cfg!(target_os = "macos") => VmBackend::Vfkit,
            VmBackend::Auto if cfg!(windows) => VmBackend::Wsl,
            VmBackend::Auto => VmBackend::Qemu,
            chosen => chosen,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VmBackend::Auto => "auto",
            VmBackend::Qemu => "qemu",
            VmBackend::Vfkit => "vfkit",
            VmBackend::Wsl => "wsl",
        }
    }
}

/// `vm.link`: the byte stream the link runs on, as a setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmLink {
    #[default]
    Auto,
    /// A virtio-serial port (QEMU).
    Serial,
    /// A virtio-vsock port (QEMU through vhost-device-vsock, vfkit).
    Vsock,
}

/// The byte stream a running VM's link uses: a [`VmLink`] resolved for one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Serial,
    Vsock,
    /// The agent's stdio through `wsl.exe` (WSL has neither a serial port nor a vsock of ours).
    Stdio,
}

impl LinkKind {
    pub fn name(self) -> &'static str {
        match self {
            LinkKind::Serial => "serial",
            LinkKind::Vsock => "vsock",
            LinkKind::Stdio => "stdio",
        }
    }
}

impl VmLink {
    /// The link `backend` runs. QEMU's `auto` is the serial port: it needs no second host
    /// program, and vsock was not faster here (crates/berth-cli/tests/vm_links.rs under TCG on
    /// a loaded 2-core machine, first start to a ready engine: serial 29.3 s, vsock 37.6 s in
    /// one run; 96 s and 42 s in another under heavier load — within this machine's noise).
    /// vfkit has only vsock, WSL only stdio.
    pub fn resolve(self, backend: VmBackend) -> LinkKind {
        match (backend.resolve(), self) {
            (VmBackend::Wsl, _) => LinkKind::Stdio,
            (VmBackend::Vfkit, _) => LinkKind::Vsock,
            (_, VmLink::Vsock) => LinkKind::Vsock,
            (_, VmLink::Auto | VmLink::Serial) => LinkKind::Serial,
        }
    }

    /// Why `self` cannot run on `backend`, for `vm.link`'s validation. Only explicit choices
    /// are checked: `auto` may stand for a different backend on another OS.
    pub fn conflict(self, backend: VmBackend) -> Option<String> {
        match (backend, self) {
            (VmBackend::Wsl, VmLink::Serial | VmLink::Vsock) => Some(
                "WSL links over the agent's stdio: leave vm.link at \"auto\" with vm.backend = \"wsl\"".into(),
            ),
            (VmBackend::Vfkit, VmLink::Serial) => Some(
                "vfkit links over vsock: use \"vsock\" or \"auto\" with vm.backend = \"vfkit\"".into(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_the_os_own_backend() {
        let expected = if cfg!(target_os = "macos") {
            VmBackend::Vfkit
        } else if cfg!(windows) {
            VmBackend::Wsl
        } else {
            VmBackend::Qemu
        };
        assert_eq!(VmBackend::Auto.resolve(), expected);
        assert_eq!(VmBackend::Vfkit.resolve(), VmBackend::Vfkit);
    }

    #[test]
    fn each_backend_gets_a_link_it_has() {
        use LinkKind::*;
        let table = [
            (VmBackend::Qemu, VmLink::Auto, Serial),
            (VmBackend::Qemu, VmLink::Serial, Serial),
            (VmBackend::Qemu, VmLink::Vsock, Vsock),
            (VmBackend::Vfkit, VmLink::Auto, Vsock),
            (VmBackend::Vfkit, VmLink::Vsock, Vsock),
            (VmBackend::Wsl, VmLink::Auto, Stdio),
        ];
        for (backend, link, kind) in table {
            assert_eq!(link.resolve(backend), kind, "{backend:?} {link:?}");
            assert_eq!(link.conflict(backend), None);
        }
        assert!(VmLink::Serial.conflict(VmBackend::Vfkit).is_some());
        assert!(VmLink::Vsock.conflict(VmBackend::Wsl).is_some());
        assert_eq!(VmLink::Serial.conflict(VmBackend::Auto), None);
    }
}
