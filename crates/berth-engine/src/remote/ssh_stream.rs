//! One connection to an engine over ssh, as hyper sees it: ssh starts at the first write.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ssh::{SshConnector, SshPipes};

/// A connection whose ssh child is started by the first write.
#[derive(Debug)]
pub struct SshStream {
    state: State,
}

#[derive(Debug)]
enum State {
    /// Nothing written yet: no ssh running. A read waits for the first write.
    NotStarted {
        connector: SshConnector,
        reader: Option<Waker>,
    },
    Running(SshPipes),
}

impl SshStream {
    pub(super) fn new(connector: SshConnector) -> SshStream {
        SshStream {
            state: State::NotStarted {
                connector,
                reader: None,
            },
        }
    }

    /// The running child's pipes, starting it first if needed.
    fn start(&mut self) -> io::Result<&mut SshPipes> {
        if let State::NotStarted { connector, reader } = &mut self.state {
            let pipes = connector.spawn()?;
            if let Some(waker) = reader.take() {
                waker.wake();
            }
            self.state = State::Running(pipes);
        }
        match &mut self.state {
            State::Running(pipes) => Ok(pipes),
            State::NotStarted { .. } => Err(io::Error::other("ssh did not start")),
        }
    }
}

impl Connection for SshStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for SshStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.state {
            State::NotStarted { reader, .. } => {
                *reader = Some(cx.waker().clone());
                Poll::Pending
            }
            State::Running(pipes) => Pin::new(&mut pipes.stdout).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.start() {
            Ok(pipes) => Pin::new(&mut pipes.stdin).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.state {
            State::NotStarted { .. } => Poll::Ready(Ok(())),
            State::Running(pipes) => Pin::new(&mut pipes.stdin).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.state {
            State::NotStarted { .. } => Poll::Ready(Ok(())),
            State::Running(pipes) => Pin::new(&mut pipes.stdin).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::ssh::{SshClient, SshTarget};
    use tokio::io::AsyncWriteExt;

    fn stream(program: &str) -> SshStream {
        let target = SshTarget::parse("ssh://me@h").unwrap();
        let client = SshClient {
            program: program.into(),
        };
        SshStream::new(SshConnector::new(client, target))
    }

    #[tokio::test]
    async fn nothing_runs_until_the_first_write() {
        // Flushing or closing a connection nobody wrote to starts no ssh (the program does
        // not even exist here); the first write does, and says what it could not run.
        let mut s = stream("/nonexistent/ssh");
        s.flush().await.unwrap();
        s.shutdown().await.unwrap();
        let mut s = stream("/nonexistent/ssh");
        let err = s
            .write_all(b"GET /_ping HTTP/1.1\r\n\r\n")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot run /nonexistent/ssh"),
            "{err}"
        );
    }
}
