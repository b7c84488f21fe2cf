//! One module per subcommand.

pub mod compose;
pub mod daemon;
pub mod diagnose;
pub mod engines;
pub mod learn;
pub mod login;
pub mod logout;
pub mod pause;
pub mod prune;
pub mod reset;
pub mod restart;
pub mod settings;
pub mod setup;
pub mod start;
pub mod status;
pub mod stop;
pub mod swarm;
pub mod vm_logs;
pub mod whoami;
