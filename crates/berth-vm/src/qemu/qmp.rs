//! Just enough QMP (QEMU's JSON control protocol) to power the guest down or quit QEMU.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};

use crate::VmError;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Connects, negotiates capabilities and runs one command (`system_powerdown`, `quit`, ...).
pub async fn execute(socket: &Path, command: &str) -> Result<Value, VmError> {
    tokio::time::timeout(TIMEOUT, execute_inner(socket, command))
        .await
        .map_err(|_| VmError::Qmp {
            detail: format!("no answer to {command} within {} s", TIMEOUT.as_secs()),
        })?
}

async fn execute_inner(socket: &Path, command: &str) -> Result<Value, VmError> {
    let stream = connect(socket).await?;
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    let greeting = next_message(&mut lines).await?;
    if greeting.get("QMP").is_none() {
        return Err(VmError::Qmp {
            detail: format!("unexpected greeting {greeting}"),
        });
    }
    for cmd in ["qmp_capabilities", command] {
        let line = format!("{}\n", json!({ "execute": cmd }));
        write
            .write_all(line.as_bytes())
            .await
            .map_err(VmError::io(socket))?;
        loop {
            let msg = match next_message(&mut lines).await {
                // `quit` may close the socket before its answer arrives.
                Err(_) if cmd == "quit" => return Ok(Value::Null),
                other => other?,
            };
            if let Some(ret) = msg.get("return") {
                if cmd == command {
                    return Ok(ret.clone());
                }
                break;
            }
            if let Some(err) = msg.get("error") {
                return Err(VmError::Qmp {
                    detail: format!("{cmd}: {err}"),
                });
            }
            // Anything else is an asynchronous event: skip it.
        }
    }
    Ok(Value::Null)
}

/// QEMU's QMP socket is a unix socket (the QEMU backend is the Linux one).
#[cfg(unix)]
async fn connect(socket: &Path) -> Result<tokio::net::UnixStream, VmError> {
    tokio::net::UnixStream::connect(socket)
        .await
        .map_err(VmError::io(socket))
}

#[cfg(not(unix))]
async fn connect(socket: &Path) -> Result<tokio::io::DuplexStream, VmError> {
    Err(VmError::Unsupported {
        what: format!("QMP over the unix socket {}", socket.display()),
    })
}

async fn next_message<R: AsyncRead + Unpin>(
    lines: &mut tokio::io::Lines<BufReader<R>>,
) -> Result<Value, VmError> {
    let line = lines
        .next_line()
        .await
        .map_err(|e| VmError::Qmp {
            detail: e.to_string(),
        })?
        .ok_or_else(|| VmError::Qmp {
            detail: "connection closed".into(),
        })?;
    serde_json::from_str(&line).map_err(|e| VmError::Qmp {
        detail: format!("bad message {line:?}: {e}"),
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    /// A scripted QMP server: greeting, capabilities, an event, then the answer.
    #[tokio::test]
    async fn negotiates_and_skips_events() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("qmp.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            write
                .write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                .await
                .unwrap();
            let mut seen = Vec::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                let v: Value = serde_json::from_str(&line).unwrap();
                seen.push(v["execute"].as_str().unwrap().to_string());
                if seen.len() == 2 {
                    write
                        .write_all(b"{\"event\": \"POWERDOWN\", \"timestamp\": {}}\n")
                        .await
                        .unwrap();
                }
                write.write_all(b"{\"return\": {}}\n").await.unwrap();
            }
            seen
        });
        let ret = execute(&sock, "system_powerdown").await.unwrap();
        assert_eq!(ret, json!({}));
        assert_eq!(
            server.await.unwrap(),
            ["qmp_capabilities", "system_powerdown"]
        );
    }
}
