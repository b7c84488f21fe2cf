//! The Windows backend: the `wsl.exe` commands ([`spec`]), reading `wsl.exe`'s UTF-16 output
//! ([`output`]), translating Windows paths for bind mounts ([`paths`]) and the
//! [`WslHypervisor`] ([`backend`]), and the memory reclaim it turns on in `.wslconfig`
//! ([`wslconfig`]). All of it builds and is tested on every OS; only running
//! `wsl.exe` needs Windows.

pub mod backend;
pub mod output;
pub mod paths;
pub mod spec;
pub mod wslconfig;

pub use backend::WslHypervisor;
pub use spec::{WslCommand, WslSpec, DISTRO};
