//! Berth's installers: the first-run setup every bundle relies on (the `berth` docker context,
//! the compose plugin, the binaries on the PATH) and its undo. The bundle configs themselves
//! (`installer/tauri.*.conf.json`) are checked against Tauri's own config types in
//! `bundle_configs`.

pub mod setup;

#[cfg(test)]
mod bundle_configs;

pub use setup::{Install, Layout, Outcome, SetupError};
