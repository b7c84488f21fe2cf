//! What the daemon and its clients (the CLI and the app, through berth-api) agree on, and
//! nothing more: the control protocol ([`protocol`]), where the daemon and the engine listen
//! ([`endpoint`]), the names of the files it writes ([`log_files`]) and the one-daemon lock
//! ([`lock`]). A client links this small crate, not the daemon with its VM and link stack.

pub mod endpoint;
pub mod lock;
pub mod log_files;
pub mod protocol;
#[cfg(windows)]
pub mod user_sid;

pub use protocol::{encode, AgentSummary, DaemonStatus, Reply, Request, VmInfo};
