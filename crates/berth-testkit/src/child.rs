//! Child processes a test starts: killed by their own PID and reaped when the test is done with
//! them, and their output read line by line with a deadline.

use std::io::{BufRead, BufReader, Read};
use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::process::describe;
use crate::HarnessError;

/// A child process killed (by its own PID) and reaped when dropped, unless it has exited.
#[derive(Debug)]
pub struct ChildGuard(Child);

impl ChildGuard {
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard(child)
    }

    /// Spawns `cmd` and guards the child.
    pub fn spawn(cmd: &mut Command) -> Result<ChildGuard, HarnessError> {
        cmd.spawn()
            .map(ChildGuard)
            .map_err(|source| HarnessError::Spawn {
                command: describe(cmd),
                source,
            })
    }
}

impl From<Child> for ChildGuard {
    fn from(child: Child) -> ChildGuard {
        ChildGuard(child)
    }
}

impl Deref for ChildGuard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a stream (a child's stdout), read on a thread of their own.
pub struct Lines(mpsc::Receiver<String>);

impl Lines {
    /// Reads `stream` line by line until it ends or is not valid UTF-8.
    pub fn read(stream: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines(rx)
    }

    /// The first line (from here on) that satisfies `pred`; panics after `deadline` (or when the
    /// stream ends) naming `what` and every line passed over.
    pub fn wait_for(&self, deadline: Duration, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + deadline;
        let mut seen = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.0.recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(line) => seen.push(line),
                Err(e) => panic!("no line for {what} within {deadline:?} ({e}); saw {seen:?}"),
            }
        }
    }
}

/// Spawns `cmd` with its stdout piped into [`Lines`] (stderr stays the test's).
pub fn spawn_lines(mut cmd: impl std::borrow::BorrowMut<Command>) -> (ChildGuard, Lines) {
    let cmd = cmd.borrow_mut();
    let mut child = ChildGuard::spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()))
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    (child, Lines::read(stdout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::is_running;

    #[test]
    fn dropping_the_guard_kills_and_reaps_the_child() {
        let guard = ChildGuard::spawn(Command::new("sleep").arg("30")).unwrap();
        let pid = guard.id();
        assert!(is_running(pid));
        drop(guard);
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn lines_finds_the_line_and_reports_the_others() {
        let (_child, lines) = spawn_lines(Command::new("printf").arg("a\\nb\\nc\\n"));
        assert_eq!(
            lines.wait_for(Duration::from_secs(10), "b", |l| l == "b"),
            "b"
        );
        let missed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lines.wait_for(Duration::from_secs(10), "the letter z", |l| l == "z")
        }))
        .unwrap_err();
        let text = missed.downcast_ref::<String>().unwrap();
        assert!(
            text.contains("the letter z") && text.contains("\"c\""),
            "{text}"
        );
    }
}
