//! Running host commands, with errors that carry the evidence.

use std::borrow::BorrowMut;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use crate::{wait_until, HarnessError};

/// Runs `cmd` (a `Command` or `&mut Command`) to completion and returns its stdout; a non-zero
/// exit is an error carrying the command line, status, stdout and stderr.
pub fn run(mut cmd: impl BorrowMut<Command>) -> Result<String, HarnessError> {
    let cmd = cmd.borrow_mut();
    let command = describe(cmd);
    let out = cmd.output().map_err(|source| HarnessError::Spawn {
        command: command.clone(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    Err(HarnessError::Command {
        command,
        status: out.status.to_string(),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Puts the child in its own process group, so a terminal's Ctrl-C goes to the tests and the
/// watchdog tidies up. The harness is Linux's (netns, dockerd); elsewhere this does nothing and
/// [`crate::Dockerd::start`] fails when it cannot find `ip` and `nsenter`.
pub(crate) fn own_process_group(cmd: &mut Command) {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    #[cfg(not(unix))]
    let _ = cmd;
}

/// The command line of `cmd`, for error messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Sends `signal` (a name such as "TERM") to `pid` with the shell's `kill` builtin: the
/// workspace forbids `unsafe`, and `std` only offers SIGKILL.
pub(crate) fn signal(pid: u32, signal: &str) {
    let _ = Command::new("sh")
        .args(["-c", r#"kill -s "$1" "$2""#, "sh", signal, &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Whether `pid` is a live process (a zombie waiting to be reaped is not).
pub(crate) fn is_running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S ...`: comm may contain spaces and parentheses, so split at the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

/// SIGTERM, wait up to `grace`, then SIGKILL; always reaps the child.
pub(crate) fn stop_child(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    signal(child.id(), "TERM");
    let exited = wait_until(grace, "process exit", || {
        child.try_wait().ok().flatten().map(|_| ())
    });
    if exited.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The last `lines` lines of a log file (or a note that it could not be read).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_reports_stderr_of_a_failing_command() {
        let err = run(Command::new("sh").args(["-c", "echo oops >&2; exit 3"])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("oops") && text.contains("sh -c"), "{text}");
    }

    #[test]
    fn we_run_and_a_reaped_child_does_not() {
        assert!(is_running(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_running(pid));
    }

    #[test]
    fn an_unreaped_child_is_not_running() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        wait_until(Duration::from_secs(10), "child to exit", || {
            (!is_running(pid)).then_some(())
        })
        .unwrap();
        // Still a zombie: /proc has it until we reap it.
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
        child.wait().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn signal_term_stops_a_process() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        signal(child.id(), "TERM");
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(15)
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = std::env::temp_dir().join(format!("bt-tail-{}", std::process::id()));
        std::fs::write(&dir, "a\nb\nc\n").unwrap();
        assert_eq!(tail(&dir, 2), "b\nc");
        std::fs::remove_file(&dir).unwrap();
    }
}
