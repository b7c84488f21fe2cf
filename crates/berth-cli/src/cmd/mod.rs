//! One module per subcommand.

pub mod status;
pub mod daemon;
pub mod restart;
pub mod start;
pub mod stop;
pub mod vm_logs;
