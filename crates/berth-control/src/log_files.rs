//! Berth's own logs as rolling files in the logs dir: `daemon.log` grows to a size limit, then
//! becomes `daemon.log.1` (the older ones shift up, the oldest beyond `keep` is deleted). The
//! Troubleshoot page and `berth logs` read them oldest first; the diagnostics bundle packs them.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The daemon's log file name in the logs dir.
pub const DAEMON_LOG: &str = "daemon.log";
/// Where the daemon's stdout and stderr go (a panic message, an error before logging starts);
/// truncated at each daemon start.
pub const DAEMON_OUTPUT: &str = "daemon-output.log";
/// Size at which the current file is rotated.
pub const MAX_BYTES: u64 = 4 << 20;
/// Rotated files kept beside the current one.
pub const KEEP: usize = 4;

/// A log file that rotates itself by size. Writes are whole lines from the logger, so a line
/// is never split across two files.
#[derive(Debug)]
pub struct RollingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
}

impl RollingFile {
    pub fn open(dir: &Path, name: &str, max_bytes: u64, keep: usize) -> io::Result<Self> {
        let path = dir.join(name);
        let file = append(&path)?;
        let written = file.metadata()?.len();
        Ok(RollingFile {
            path,
            max_bytes,
            keep,
            file,
            written,
        })
    }

    /// The daemon's log with the default limits.
    pub fn daemon(logs_dir: &Path) -> io::Result<Self> {
        Self::open(logs_dir, DAEMON_LOG, MAX_BYTES, KEEP)
    }

    fn rotate(&mut self) -> io::Result<()> {
        let _ = std::fs::remove_file(numbered(&self.path, self.keep));
        for i in (1..self.keep).rev() {
            let from = numbered(&self.path, i);
            if from.exists() {
                std::fs::rename(&from, numbered(&self.path, i + 1))?;
            }
        }
        if self.keep > 0 {
            std::fs::rename(&self.path, numbered(&self.path, 1))?;
        } else {
            std::fs::remove_file(&self.path)?;
        }
        self.file = append(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for RollingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Logs name the user's containers, images and paths: the user's alone (0600).
fn append(path: &Path) -> io::Result<File> {
    berth_core::owner_only::append(path)
}

fn numbered(path: &Path, i: usize) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{i}"));
    PathBuf::from(name)
}

/// The files of one log that exist, oldest first (`daemon.log.4` ... `daemon.log`).
pub fn files(logs_dir: &Path, name: &str) -> Vec<PathBuf> {
    let current = logs_dir.join(name);
    let mut rotated: Vec<(usize, PathBuf)> = std::fs::read_dir(logs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let file_name = entry.file_name();
            let n = file_name
                .to_str()?
                .strip_prefix(name)?
                .strip_prefix('.')?
                .parse()
                .ok()?;
            Some((n, entry.path()))
        })
        .collect();
    rotated.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    rotated
        .into_iter()
        .map(|(_, p)| p)
        .chain(current.exists().then_some(current))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_keeps_n_and_lists_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RollingFile::open(dir.path(), "d.log", 10, 2).unwrap();
        for line in ["one 1234\n", "two 1234\n", "three 12\n", "four 123\n"] {
            log.write_all(line.as_bytes()).unwrap();
        }
        let listed = files(dir.path(), "d.log");
        let names: Vec<_> = listed
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["d.log.2", "d.log.1", "d.log"]);
        let text: Vec<_> = listed
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(text, ["two 1234\n", "three 12\n", "four 123\n"]);
    }

    #[test]
    fn reopening_continues_the_size_count() {
        let dir = tempfile::tempdir().unwrap();
        RollingFile::open(dir.path(), "d.log", 10, 1)
            .unwrap()
            .write_all(b"123456789\n")
            .unwrap();
        let mut again = RollingFile::open(dir.path(), "d.log", 10, 1).unwrap();
        again.write_all(b"x\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("d.log")).unwrap(),
            "x\n"
        );
        assert_eq!(files(dir.path(), "d.log").len(), 2);
        assert!(files(dir.path(), "missing.log").is_empty());
    }
}
