//! The distributions the stand-in knows, as WSL's registry (`HKCU\...\Lxss`) holds them: a
//! name, where its files are, its version, and which one is the default (the first imported).
//! Kept as JSON in the stand-in's state folder, written atomically; a running distribution is
//! the PID file of the `unshare` process that holds its namespaces.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Names the state folder (tests give each their own).
pub const STATE_VAR: &str = "BERTH_WSL_STANDIN_STATE";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    /// `<InstallLocation>` of `--import`; the root file system is its `rootfs` folder (where
    /// WSL keeps an `ext4.vhdx`).
    pub install_dir: PathBuf,
    pub version: u8,
}

impl Entry {
    pub fn rootfs(&self) -> PathBuf {
        self.install_dir.join("rootfs")
    }
}

pub struct Registry {
    dir: PathBuf,
}

impl Registry {
    /// `$BERTH_WSL_STANDIN_STATE`, else `$XDG_STATE_HOME/berth-wsl-standin`, else
    /// `~/.local/state/berth-wsl-standin`.
    pub fn open() -> std::io::Result<Registry> {
        let dir = match std::env::var_os(STATE_VAR).filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => std::env::var_os("XDG_STATE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")))
                .unwrap_or_else(|| PathBuf::from("/var/lib"))
                .join("berth-wsl-standin"),
        };
        std::fs::create_dir_all(dir.join("run"))?;
        Ok(Registry { dir })
    }

    fn file(&self) -> PathBuf {
        self.dir.join("distributions.json")
    }

    pub fn entries(&self) -> std::io::Result<Vec<Entry>> {
        match std::fs::read(self.file()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, entries: &[Entry]) -> std::io::Result<()> {
        let tmp = self
            .dir
            .join(format!(".distributions.{}", std::process::id()));
        let bytes = serde_json::to_vec_pretty(entries).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, self.file())
    }

    /// WSL's names compare without case.
    pub fn find(&self, name: &str) -> std::io::Result<Option<Entry>> {
        Ok(self
            .entries()?
            .into_iter()
            .find(|e| e.name.eq_ignore_ascii_case(name)))
    }

    pub fn pid_file(&self, name: &str) -> PathBuf {
        self.dir
            .join("run")
            .join(format!("{}.pid", name.to_ascii_lowercase()))
    }

    pub fn log_file(&self, name: &str) -> PathBuf {
        self.dir
            .join("run")
            .join(format!("{}.log", name.to_ascii_lowercase()))
    }

    /// The PID of the `unshare` process holding `name`'s namespaces, when it still runs (its
    /// command line names the distribution, so a reused PID is not taken for it).
    pub fn running(&self, name: &str) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.pid_file(name))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let ours = args
            .windows(2)
            .any(|w| w[0] == b"__init" && String::from_utf8_lossy(w[1]).eq_ignore_ascii_case(name));
        ours.then_some(pid)
    }
}
