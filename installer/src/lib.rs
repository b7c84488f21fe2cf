//! Berth's bundles: the installers' configs (`installer/tauri.*.conf.json`), checked against
//! Tauri's own config types in `bundle_configs`. The first-run setup every bundle relies on (the
//! `berth` docker context, the compose plugin, the binaries on the PATH) is `berth_api::setup`.

#[cfg(test)]
mod bundle_configs;
