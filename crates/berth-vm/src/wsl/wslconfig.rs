//! Memory going back on Windows: the one WSL VM (`vmmem`) returns the guest's free pages by
//! page reporting (on by default, `[wsl2] pageReporting`), but keeps the page cache until
//! `[experimental] autoMemoryReclaim` tells it to drop it once the VM is idle. Berth turns that
//! on in the user's `%UserProfile%\.wslconfig` — the file is the user's and every WSL distro's,
//! so only that one key is added, every other byte is kept, and a value the user chose
//! themselves is never changed (it is reported instead).
//!
//! `dropcache`, not `gradual`: it is what Berth's own Resource Saver does to the QEMU guest
//! before a pause (drop the caches, let the balloon report the pages), and with `gradual` WSL
//! 2.0.0 mounted cgroups so that dockerd no longer started ("Devices cgroup isn't mounted",
//! microsoft/WSL#10497). A user who prefers `gradual` keeps it (see [`Reclaim::AlreadyOn`]).
//!
//! WSL reads the file when its VM starts, so a change takes effect the next time WSL starts.

use std::path::Path;

/// The value Berth writes.
pub const RECLAIM: &str = "dropcache";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reclaim {
    /// Berth added `autoMemoryReclaim=dropcache`; WSL applies it when its VM next starts.
    Added,
    /// Memory reclaim was already on (`dropcache` or `gradual`).
    AlreadyOn { value: String },
    /// The user set another value (`disabled`, ...): left as it is.
    UserChoice { value: String },
}

/// What [`ensure_memory_reclaim`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WslConfigReport {
    pub reclaim: Reclaim,
    /// `[wsl2] pageReporting=false`: the VM keeps every page the guest ever used. Reported, not
    /// changed (it is the user's setting).
    pub page_reporting_off: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WslConfigError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not text (UTF-8); it was left as it is")]
    NotText { path: String },
    #[error("cannot write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Turns on WSL's memory reclaim in the `.wslconfig` at `path` (created when missing), keeping
/// everything else in it; written atomically (a temporary file renamed over it).
pub fn ensure_memory_reclaim(path: &Path) -> Result<WslConfigReport, WslConfigError> {
    let shown = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| WslConfigError::NotText {
            path: shown.clone(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(WslConfigError::Read {
                path: shown,
                source,
            })
        }
    };
    let (changed, report) = with_memory_reclaim(&text);
    if let Some(new_text) = changed {
        write_atomically(path, new_text.as_bytes()).map_err(|source| WslConfigError::Write {
            path: shown,
            source,
        })?;
    }
    Ok(report)
}

/// The file's text with `autoMemoryReclaim` added to `[experimental]` (`None`: no change
/// needed), and what it holds. Pure: the rules of [`ensure_memory_reclaim`] without the file.
pub fn with_memory_reclaim(text: &str) -> (Option<String>, WslConfigReport) {
    let lines = Lines::of(text);
    let page_reporting_off = lines
        .value("wsl2", "pageReporting")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    if let Some(value) = lines.value("experimental", "autoMemoryReclaim") {
        let reclaim = if ["dropcache", "gradual"]
            .iter()
            .any(|on| value.eq_ignore_ascii_case(on))
        {
            Reclaim::AlreadyOn { value }
        } else {
            Reclaim::UserChoice { value }
        };
        let report = WslConfigReport {
            reclaim,
            page_reporting_off,
        };
        return (None, report);
    }
    let report = WslConfigReport {
        reclaim: Reclaim::Added,
        page_reporting_off,
    };
    (Some(lines.insert_experimental_key()), report)
}

/// The file as lines, remembering its line ending and byte-order mark, so what is written back
/// differs only by the added line.
struct Lines<'a> {
    bom: &'a str,
    newline: &'static str,
    lines: Vec<&'a str>,
    /// Whether the text ended with a newline.
    trailing_newline: bool,
}

impl<'a> Lines<'a> {
    fn of(text: &'a str) -> Self {
        let (bom, body) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (&text[..'\u{feff}'.len_utf8()], rest),
            None => ("", text),
        };
        let newline = if body.contains("\r\n") { "\r\n" } else { "\n" };
        let trailing_newline = body.is_empty() || body.ends_with('\n');
        let lines = body
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect::<Vec<_>>();
        // The text after a final newline is no line.
        let lines = if trailing_newline {
            lines[..lines.len() - 1].to_vec()
        } else {
            lines
        };
        Lines {
            bom,
            newline,
            lines,
            trailing_newline,
        }
    }

    /// The section a line opens (`[name]`), lower-cased.
    fn section(line: &str) -> Option<String> {
        let t = line.trim();
        t.strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .map(|name| name.trim().to_ascii_lowercase())
    }

    /// `key=value` on a line (keys compare without case, as WSL reads them), comments skipped.
    fn key_value(line: &str) -> Option<(&str, &str)> {
        let t = line.trim();
        if t.starts_with('#') || t.starts_with(';') {
            return None;
        }
        let (key, value) = t.split_once('=')?;
        let value = value.split(['#', ';']).next().unwrap_or("").trim();
        Some((key.trim(), value))
    }

    /// The last value of `key` in `section` (a later line wins, as WSL reads it).
    fn value(&self, section: &str, key: &str) -> Option<String> {
        let mut current = None;
        let mut found = None;
        for line in &self.lines {
            if let Some(name) = Self::section(line) {
                current = Some(name);
            } else if current.as_deref() == Some(section) {
                if let Some((k, v)) = Self::key_value(line) {
                    if k.eq_ignore_ascii_case(key) {
                        found = Some(v.trim_matches('"').to_owned());
                    }
                }
            }
        }
        found
    }

    /// The text with `autoMemoryReclaim=dropcache` as the last setting of the first
    /// `[experimental]` section, or a new section at the end.
    fn insert_experimental_key(&self) -> String {
        let entry = format!("autoMemoryReclaim={RECLAIM}");
        let mut out: Vec<String> = self.lines.iter().map(|l| (*l).to_owned()).collect();
        let start = self
            .lines
            .iter()
            .position(|l| Self::section(l).as_deref() == Some("experimental"));
        match start {
            Some(start) => {
                let end = self.lines[start + 1..]
                    .iter()
                    .position(|l| Self::section(l).is_some())
                    .map_or(self.lines.len(), |i| start + 1 + i);
                // After the section's last setting, not after the blank lines that end it.
                let at = (start + 1..end)
                    .rev()
                    .find(|&i| !self.lines[i].trim().is_empty())
                    .map_or(start + 1, |i| i + 1);
                out.insert(at, entry);
            }
            None => {
                if out.last().is_some_and(|l| !l.trim().is_empty()) {
                    out.push(String::new());
                }
                out.push("[experimental]".into());
                out.push(entry);
            }
        }
        let mut text = format!("{}{}", self.bom, out.join(self.newline));
        if self.trailing_newline || start.is_none() {
            text.push_str(self.newline);
        }
        text
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| ".wslconfig".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.berth-{}", std::process::id()));
    let result = (|| {
        std::fs::write(&tmp, bytes)?;
        // The user's own file: keep the permissions it had.
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(text: &str) -> String {
        let (changed, report) = with_memory_reclaim(text);
        assert_eq!(report.reclaim, Reclaim::Added);
        changed.expect("a change")
    }

    #[test]
    fn an_empty_or_missing_file_gets_the_section() {
        assert_eq!(added(""), "[experimental]\nautoMemoryReclaim=dropcache\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".wslconfig");
        let report = ensure_memory_reclaim(&path).unwrap();
        assert_eq!(report.reclaim, Reclaim::Added);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[experimental]\nautoMemoryReclaim=dropcache\n"
        );
        // A second run changes nothing.
        let again = ensure_memory_reclaim(&path).unwrap();
        assert_eq!(
            again.reclaim,
            Reclaim::AlreadyOn {
                value: "dropcache".into()
            }
        );
    }

    #[test]
    fn the_users_other_settings_comments_and_line_endings_are_kept() {
        let text = "\u{feff}# mine\r\n[wsl2]\r\nmemory=8GB\r\nprocessors=4 # four\r\n\r\n\
                    [experimental]\r\nsparseVhd=true\r\n\r\n[network]\r\nhostname=box\r\n";
        assert_eq!(
            added(text),
            "\u{feff}# mine\r\n[wsl2]\r\nmemory=8GB\r\nprocessors=4 # four\r\n\r\n\
             [experimental]\r\nsparseVhd=true\r\nautoMemoryReclaim=dropcache\r\n\r\n\
             [network]\r\nhostname=box\r\n"
        );
        // No final newline, no [experimental]: a blank line, then the section.
        assert_eq!(
            added("[wsl2]\nmemory=4GB"),
            "[wsl2]\nmemory=4GB\n\n[experimental]\nautoMemoryReclaim=dropcache\n"
        );
        // An empty [experimental] at the end of the file without a final newline.
        assert_eq!(
            added("[Experimental]"),
            "[Experimental]\nautoMemoryReclaim=dropcache"
        );
    }

    #[test]
    fn a_value_the_user_chose_is_left_and_reported() {
        let (changed, report) =
            with_memory_reclaim("[experimental]\nAutoMemoryReclaim = disabled ; no thanks\n");
        assert!(changed.is_none());
        assert_eq!(
            report.reclaim,
            Reclaim::UserChoice {
                value: "disabled".into()
            }
        );
        let (changed, report) = with_memory_reclaim("[experimental]\nautoMemoryReclaim=gradual\n");
        assert!(changed.is_none());
        assert_eq!(
            report.reclaim,
            Reclaim::AlreadyOn {
                value: "gradual".into()
            }
        );
        // A commented-out line is not a choice; the same key in another section is not either.
        added("[experimental]\n# autoMemoryReclaim=disabled\n");
        added("[wsl2]\nautoMemoryReclaim=disabled\n");
    }

    #[test]
    fn page_reporting_turned_off_is_reported() {
        let (_, report) = with_memory_reclaim("[wsl2]\npageReporting=false\n");
        assert!(report.page_reporting_off);
        let (_, report) = with_memory_reclaim("[wsl2]\npageReporting=true\n");
        assert!(!report.page_reporting_off);
    }

    #[test]
    fn a_file_that_is_not_text_is_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".wslconfig");
        std::fs::write(&path, [0xff, 0xfe, b'[', 0]).unwrap();
        let err = ensure_memory_reclaim(&path).unwrap_err();
        assert!(matches!(err, WslConfigError::NotText { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), [0xff, 0xfe, b'[', 0]);
    }
}
