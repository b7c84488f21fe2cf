//! The Windows backend's pure half: the `wsl.exe` commands ([`spec`]), reading `wsl.exe`'s
//! UTF-16 output ([`output`]) and translating Windows paths for bind mounts ([`paths`]). All of
//! it builds and is tested on every OS; only running `wsl.exe` needs Windows.

pub mod output;
pub mod paths;
pub mod spec;

pub use spec::{WslCommand, WslSpec, DISTRO};
