//! Cleanup that survives the test process being killed.
//!
//! `Drop` handles every normal exit and every panic. When the test process dies without unwinding
//! (SIGKILL, Ctrl-C, an abort), a watchdog `sh` notices: it blocks reading a pipe whose only
//! writer is the test process, and the kernel closes that pipe when the process dies. It then
//! stops the guarded PID (TERM, up to 15 s, KILL), deletes the netns and removes the temp dir.
//! It runs in its own process group so a terminal's Ctrl-C does not kill it too.
//! On a normal `Drop` the owner kills the watchdog first, so it can never signal a reused PID.

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::HarnessError;

const SCRIPT: &str = r#"
read -r _ignored
kill -TERM "$1" 2>/dev/null
i=0
while kill -0 "$1" 2>/dev/null && [ "$i" -lt 60 ]; do sleep 0.25; i=$((i+1)); done
kill -KILL "$1" 2>/dev/null
[ -n "$2" ] && ip netns del "$2" 2>/dev/null
[ -n "$3" ] && rm -rf "$3"
exit 0
"#;

pub(crate) struct Watchdog {
    child: Child,
    // Held only so the pipe stays open while we live.
    _stdin: ChildStdin,
}

impl Watchdog {
    /// Guards `pid`; optionally also deletes `netns` and removes `dir` when triggered.
    pub(crate) fn guard(
        pid: u32,
        netns: Option<&str>,
        dir: Option<&Path>,
    ) -> Result<Watchdog, HarnessError> {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", SCRIPT, "berth-testkit-watchdog", &pid.to_string()])
            .arg(netns.unwrap_or(""))
            .arg(dir.map(|d| d.as_os_str()).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        crate::process::own_process_group(&mut cmd);
        let mut child = cmd.spawn().map_err(|source| HarnessError::Spawn {
            command: "sh -c <watchdog>".into(),
            source,
        })?;
        let stdin = child.stdin.take().expect("stdin was piped");
        Ok(Watchdog {
            child,
            _stdin: stdin,
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
