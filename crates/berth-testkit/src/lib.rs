//! The real-dockerd test harness (test tier 2).
//!
//! Every [`Dockerd`] is a private `dockerd` (Debian's `docker.io`) in its own network namespace
//! with its own data root, exec root, pid file and unix socket, so any number of them can run at
//! once on one host. [`Dockerd::test_image`] imports a busybox-static image built locally (no
//! registry can be reached), and [`Registry`] runs Debian's `docker-registry` inside a daemon's
//! namespace for pull/push tests.
//!
//! ```no_run
//! # fn main() -> Result<(), berth_testkit::HarnessError> {
//! let d = berth_testkit::Dockerd::start()?;
//! let image = d.test_image()?;
//! let out = berth_testkit::run(d.docker().args(["run", "--rm", &image, "echo", "hi"]))?;
//! assert_eq!(out.trim(), "hi");
//! # Ok(()) }
//! ```
//!
//! Cleanup: `Drop` stops every process by its PID and removes the namespace and the temp dir.
//! If the test process dies without unwinding (SIGKILL, Ctrl-C), a small watchdog process per
//! daemon/registry notices that its stdin pipe closed and does the same cleanup. Everything a run
//! creates is named `/tmp/bt-<pid>-<n>` and netns `berth-t-<pid>-<n>`; if even the watchdog is
//! gone, the first [`Dockerd::start`] of a later run cleans up entries whose owner PID is dead
//! ([`sweep_orphans`]), and a CI script can find leftovers by those prefixes.

mod bollard_client;
mod child;
mod dockerd;
mod error;
mod files;
mod image;
mod loopback;
mod netns_bridge;
mod process;
mod registry;
#[cfg(unix)]
mod sshd;
mod sweep;
mod tls_certs;
mod udp_echo;
mod wait;
mod watchdog;

pub use bollard_client::docker_client;
pub use child::{spawn_lines, ChildGuard, Lines};
pub use dockerd::Dockerd;
pub use error::HarnessError;
#[cfg(unix)]
pub use files::file_mode;
pub use files::read_tar_gz;
pub use image::TEST_IMAGE;
pub use loopback::{free_port, http_get};
pub use netns_bridge::NetnsBridge;
pub use process::run;
pub use registry::{HostBridge, Registry};
#[cfg(unix)]
pub use sshd::{RemoteShell, Sshd};
pub use sweep::sweep_orphans;
pub use tls_certs::TlsCerts;
pub use udp_echo::{build_udp_echo, udp_ask};
pub use wait::{wait_until, wait_until_async, Outcome};
