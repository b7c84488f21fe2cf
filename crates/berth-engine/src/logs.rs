//! Container logs as a stream of typed lines.

use bollard::container::LogOutput;
use bollard::query_parameters as q;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// What to read from a container's log.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogOptions {
    /// Keep the stream open and deliver new lines as they are written.
    pub follow: bool,
    /// Ask the engine for RFC 3339 timestamps (returned in [`LogLine::timestamp`]).
    pub timestamps: bool,
    /// Only the last N lines (all when `None`).
    pub tail: Option<u64>,
    /// Only lines since this Unix time (seconds).
    pub since: Option<i64>,
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            follow: false,
            timestamps: false,
            tail: None,
            since: None,
            stdout: true,
            stderr: true,
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogStream {
    Stdout,
    Stderr,
    Stdin,
    /// Output of a TTY container (stdout and stderr are one stream).
    Console,
}

/// One chunk of log output (a line for non-TTY containers).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub stream: LogStream,
    pub timestamp: Option<String>,
    pub text: String,
}

impl LogLine {
    pub(crate) fn from_output(output: LogOutput, timestamps: bool) -> LogLine {
        let (stream, bytes) = match output {
            LogOutput::StdOut { message } => (LogStream::Stdout, message),
            LogOutput::StdErr { message } => (LogStream::Stderr, message),
            LogOutput::StdIn { message } => (LogStream::Stdin, message),
            LogOutput::Console { message } => (LogStream::Console, message),
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        match timestamps.then(|| text.split_once(' ')).flatten() {
            Some((ts, rest)) => LogLine {
                stream,
                timestamp: Some(ts.to_string()),
                text: rest.to_string(),
            },
            None => LogLine {
                stream,
                timestamp: None,
                text,
            },
        }
    }
}

impl Engine {
    /// The container's log; with `follow` it stays open until the container stops or the
    /// stream is dropped.
    pub fn logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> impl Stream<Item = Result<LogLine, EngineError>> + Send + 'static {
        let opts = q::LogsOptions {
            follow: options.follow,
            stdout: options.stdout,
            stderr: options.stderr,
            since: options
                .since
                .map(|s| i32::try_from(s).unwrap_or(i32::MAX))
                .unwrap_or(0),
            until: 0,
            timestamps: options.timestamps,
            tail: options
                .tail
                .map(|n| n.to_string())
                .unwrap_or_else(|| "all".into()),
        };
        let ts = options.timestamps;
        let err = self.err();
        self.docker
            .logs(id, Some(opts))
            .map(move |r| r.map(|o| LogLine::from_output(o, ts)).map_err(&err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn timestamps_are_split_off() {
        let out = LogOutput::StdErr {
            message: Bytes::from_static(b"2024-01-01T00:00:00.000000001Z hello world\n"),
        };
        let line = LogLine::from_output(out, true);
        assert_eq!(line.stream, LogStream::Stderr);
        assert_eq!(
            line.timestamp.as_deref(),
            Some("2024-01-01T00:00:00.000000001Z")
        );
        assert_eq!(line.text, "hello world\n");
        let plain = LogLine::from_output(
            LogOutput::StdOut {
                message: Bytes::from_static(b"a b\n"),
            },
            false,
        );
        assert_eq!(plain.timestamp, None);
        assert_eq!(plain.text, "a b\n");
    }
}
