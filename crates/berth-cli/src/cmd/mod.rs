//! One module per subcommand.

pub mod compose;
pub mod daemon;
pub mod restart;
pub mod start;
pub mod status;
pub mod stop;
pub mod vm_logs;
