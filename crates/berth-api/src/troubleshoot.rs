//! The Troubleshoot page's logic: the newest lines of the VM console and of Berth's own log,
//! where a diagnostics bundle goes by default, and the views of clean-up, diagnostics and
//! factory reset that cross to the window.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cleanup::{PruneStep, PruneSummary};
use crate::diagnostics::redact;
use crate::Berth;

/// The most of a log the page shows (its end).
pub const TAIL_BYTES: usize = 256 << 10;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogSource {
    /// The guest's console of the current (or last) boot.
    VmConsole,
    /// Berth's daemon log (rolling files, newest last).
    Berth,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTail {
    /// The files read, oldest first; empty when there is no log yet.
    pub files: Vec<String>,
    /// Their newest lines, secrets redacted.
    pub text: String,
    /// Older lines were left out.
    pub truncated: bool,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanUpStep {
    pub deleted: usize,
    pub space_reclaimed: u64,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanUpSummary {
    pub containers: CleanUpStep,
    pub images: CleanUpStep,
    pub networks: CleanUpStep,
    pub build_cache: CleanUpStep,
    /// `null` when volumes were kept.
    pub volumes: Option<CleanUpStep>,
    pub space_reclaimed: u64,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsBundle {
    pub path: String,
    pub files: Vec<String>,
    pub bytes: u64,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FactoryResetDone {
    pub removed: Vec<String>,
    pub signed_out: Vec<String>,
    pub warnings: Vec<String>,
}

impl Berth {
    /// The newest [`TAIL_BYTES`] of one log, secrets redacted.
    pub fn read_log(&self, source: LogSource) -> LogTail {
        let files = match source {
            LogSource::VmConsole => vec![self.vm_console_log()],
            LogSource::Berth => self.daemon_log_files(),
        };
        tail_of(&files, TAIL_BYTES)
    }

    /// Where a diagnostics bundle goes when the user names no file: beside the logs folder.
    pub fn default_diagnostics_path(&self) -> PathBuf {
        default_bundle_path(&self.paths().logs_dir)
    }
}

impl From<&PruneSummary> for CleanUpSummary {
    fn from(summary: &PruneSummary) -> Self {
        summary_view(summary)
    }
}

impl From<crate::diagnostics::Bundle> for DiagnosticsBundle {
    fn from(bundle: crate::diagnostics::Bundle) -> Self {
        DiagnosticsBundle {
            path: bundle.path.display().to_string(),
            files: bundle.files,
            bytes: bundle.bytes,
        }
    }
}

impl From<crate::ResetReport> for FactoryResetDone {
    fn from(report: crate::ResetReport) -> Self {
        let text = |p: &PathBuf| p.display().to_string();
        FactoryResetDone {
            removed: report.removed.iter().map(text).collect(),
            signed_out: report.signed_out,
            warnings: report.warnings,
        }
    }
}

fn default_bundle_path(logs_dir: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    logs_dir
        .parent()
        .unwrap_or(logs_dir)
        .join(format!("berth-diagnostics-{stamp}.tar.gz"))
}

fn summary_view(summary: &PruneSummary) -> CleanUpSummary {
    let step = |s: &PruneStep| CleanUpStep {
        deleted: s.deleted,
        space_reclaimed: s.space_reclaimed,
    };
    CleanUpSummary {
        containers: step(&summary.containers),
        images: step(&summary.images),
        networks: step(&summary.networks),
        build_cache: step(&summary.build_cache),
        volumes: summary.volumes.as_ref().map(step),
        space_reclaimed: summary.space_reclaimed(),
    }
}

/// The last `max` bytes of the files read as one log (oldest file first), from a line start.
/// Files are read newest first and each only from where the tail starts, so a Follow refresh
/// reads at most `max` bytes, not every rolled file whole.
pub fn tail_of(files: &[PathBuf], max: usize) -> LogTail {
    let mut parts: Vec<(Option<String>, Vec<u8>)> = Vec::new();
    let mut left = max as u64;
    let mut truncated = false;
    for file in files.iter().rev() {
        if left == 0 {
            // The tail is full: an older file only says there was more.
            truncated |= std::fs::metadata(file).is_ok_and(|m| m.len() > 0);
            continue;
        }
        match read_end(file, left) {
            Ok((data, len)) => {
                truncated |= len > data.len() as u64;
                left -= data.len() as u64;
                parts.push((Some(file.display().to_string()), data));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => parts.push((
                None,
                format!("[cannot read {}: {e}]\n", file.display()).into_bytes(),
            )),
        }
    }
    parts.reverse();
    let bytes: Vec<u8> = parts
        .iter()
        .flat_map(|(_, data)| data.iter().copied())
        .collect();
    let mut tail = &bytes[..];
    if truncated {
        if let Some(nl) = tail.iter().position(|b| *b == b'\n') {
            tail = &tail[nl + 1..];
        }
    }
    LogTail {
        files: parts.into_iter().filter_map(|(name, _)| name).collect(),
        text: redact(&String::from_utf8_lossy(tail)),
        truncated,
    }
}

/// The last `max` bytes of `file`, and its whole length.
fn read_end(file: &Path, max: u64) -> std::io::Result<(Vec<u8>, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(file)?;
    let len = f.metadata()?.len();
    let take = len.min(max);
    f.seek(SeekFrom::Start(len - take))?;
    let mut data = Vec::with_capacity(take as usize);
    f.take(take).read_to_end(&mut data)?;
    Ok((data, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_joins_rolled_files_and_starts_at_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("daemon.log.1");
        let new = dir.path().join("daemon.log");
        std::fs::write(&old, "one\ntwo\n").unwrap();
        std::fs::write(&new, "three\nfour\n").unwrap();
        let all = tail_of(&[old.clone(), new.clone()], 1000);
        assert_eq!(all.text, "one\ntwo\nthree\nfour\n");
        assert!(!all.truncated);
        assert_eq!(all.files.len(), 2);
        let tail = tail_of(&[old.clone(), new.clone()], 9);
        assert!(tail.truncated);
        assert_eq!(tail.text, "four\n");
        // The newest file holds the whole tail: the older one is not read at all.
        assert_eq!(tail.files, vec![new.display().to_string()]);
        let across = tail_of(&[old, new], 16);
        assert_eq!(across.text, "two\nthree\nfour\n");
        assert_eq!(across.files.len(), 2);
    }

    #[test]
    fn a_missing_log_is_an_empty_tail() {
        let dir = tempfile::tempdir().unwrap();
        let tail = tail_of(&[dir.path().join("console.log")], 1000);
        assert!(tail.files.is_empty());
        assert_eq!(tail.text, "");
    }

    #[test]
    fn the_summary_adds_up_what_each_step_freed() {
        let summary = PruneSummary {
            containers: PruneStep {
                deleted: 2,
                space_reclaimed: 10,
            },
            images: PruneStep {
                deleted: 1,
                space_reclaimed: 100,
            },
            volumes: Some(PruneStep {
                deleted: 1,
                space_reclaimed: 5,
            }),
            ..Default::default()
        };
        let view = summary_view(&summary);
        assert_eq!(view.space_reclaimed, 115);
        assert_eq!(view.volumes.unwrap().deleted, 1);
    }
}
