//! The one HTTP-aware step of a relay: rewriting the body of the engine's container-create
//! requests on their way to the guest. Windows needs it (a bind mount's `C:\Users\me\app` is
//! `/mnt/c/Users/me/app` in the WSL distro); the rewrite itself is a pure function the caller
//! passes in (`berth_vm::wsl::paths::rewrite_create_body`), so this module knows HTTP framing
//! and nothing about paths.
//!
//! Requests are parsed only as far as framing needs: the request line, `Content-Length`,
//! `Transfer-Encoding: chunked`, and whether the request hijacks the connection (attach, exec
//! start, `Upgrade`), after which the rest of the stream is copied raw. Every other body is
//! streamed through unchanged, never buffered; a create body is buffered (bounded) and
//! forwarded with a fresh `Content-Length` when the rewrite changed it. Responses are never
//! touched.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest request head accepted (the engine's own limit is about 1 MiB; the CLI's heads are
/// well under 4 KiB).
const MAX_HEAD: usize = 256 * 1024;
/// Longest container-create body buffered for a rewrite.
const MAX_CREATE_BODY: usize = 16 * 1024 * 1024;
const COPY_CHUNK: usize = 64 * 1024;

/// Rewrites a create body: `Ok(None)` keeps it byte for byte, `Err(message)` refuses the request.
pub type RewriteBody = dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, String> + Send + Sync;

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The request must not reach the engine; answer the client `400` with this message.
    #[error("{0}")]
    Refused(String),
}

/// Copies requests from `client` to `engine` until the client's side ends, rewriting
/// container-create bodies with `rewrite`. Returns after the client's end of stream (the caller
/// then half-closes the engine side).
pub async fn forward_requests<R, W>(
    client: &mut R,
    engine: &mut W,
    rewrite: &RewriteBody,
) -> Result<(), FilterError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut input = Input {
        reader: client,
        buf: Vec::with_capacity(8 * 1024),
        eof: false,
    };
    loop {
        let Some(head) = input.read_head().await? else {
            // The client is done (or sent a partial head, which goes on as is).
            engine.write_all(&input.buf).await?;
            engine.flush().await?;
            return Ok(());
        };
        let request = Head::parse(&head)
            .ok_or_else(|| FilterError::Refused("malformed HTTP request".into()))?;
        if request.is_container_create() {
            let body = input.read_body(&request, MAX_CREATE_BODY).await?;
            match rewrite(&body).map_err(FilterError::Refused)? {
                Some(new) => {
                    engine
                        .write_all(&request.with_length(&head, new.len()))
                        .await?;
                    engine.write_all(&new).await?;
                }
                None if request.chunked => {
                    engine
                        .write_all(&request.with_length(&head, body.len()))
                        .await?;
                    engine.write_all(&body).await?;
                }
                None => {
                    engine.write_all(&head).await?;
                    engine.write_all(&body).await?;
                }
            }
        } else {
            engine.write_all(&head).await?;
            input.copy_body(&request, engine).await?;
        }
        engine.flush().await?;
        if request.hijacks() {
            // The connection is now a raw stream (attach, exec, a build's session).
            engine.write_all(&input.buf).await?;
            input.buf.clear();
            if !input.eof {
                tokio::io::copy(input.reader, engine).await?;
            }
            engine.flush().await?;
            return Ok(());
        }
    }
}

/// Relays one client connection to one engine stream with [`forward_requests`] on the way in and
/// the responses copied back untouched. A refused request is answered `400` with its message
/// once the engine has finished the responses before it, and the connection ends.
pub async fn relay_connection<C, E>(conn: C, engine: E, rewrite: &RewriteBody) -> io::Result<()>
where
    C: AsyncRead + AsyncWrite + Unpin,
    E: AsyncRead + AsyncWrite + Unpin,
{
    let (mut client_r, mut client_w) = tokio::io::split(conn);
    let (mut engine_r, mut engine_w) = tokio::io::split(engine);
    let up = async {
        let result = forward_requests(&mut client_r, &mut engine_w, rewrite).await;
        let _ = engine_w.shutdown().await;
        result
    };
    let down = tokio::io::copy(&mut engine_r, &mut client_w);
    let (up, down) = tokio::join!(up, down);
    match up {
        Err(FilterError::Refused(message)) => {
            client_w.write_all(&refusal_response(&message)).await?;
        }
        Err(FilterError::Io(e)) => return Err(e),
        Ok(()) => {
            down?;
        }
    }
    client_w.shutdown().await
}

/// An HTTP `400` with the engine's error body shape (`{"message": ...}`), as the CLI prints it.
pub fn refusal_response(message: &str) -> Vec<u8> {
    let body = serde_json::json!({ "message": message }).to_string();
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Input<'a, R> {
    reader: &'a mut R,
    /// Read but not yet consumed.
    buf: Vec<u8>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> Input<'_, R> {
    async fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = self.reader.read(&mut chunk).await?;
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(true)
    }

    /// The next request head (through its blank line), or `None` at end of stream.
    async fn read_head(&mut self) -> Result<Option<Vec<u8>>, FilterError> {
        let mut searched: usize = 0;
        loop {
            if let Some(end) = find(&self.buf[searched.saturating_sub(3)..], b"\r\n\r\n") {
                let end = searched.saturating_sub(3) + end + 4;
                return Ok(Some(self.buf.drain(..end).collect()));
            }
            searched = self.buf.len();
            if self.buf.len() > MAX_HEAD {
                return Err(FilterError::Refused("request head too large".into()));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    async fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Err(truncated());
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> Result<Vec<u8>, FilterError> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                return Ok(self.buf.drain(..i + 2).collect());
            }
            if self.buf.len() > MAX_HEAD {
                return Err(FilterError::Refused("chunk header too long".into()));
            }
            if !self.fill().await? {
                return Err(truncated().into());
            }
        }
    }

    /// The whole (de-chunked) body, at most `limit` bytes.
    async fn read_body(&mut self, head: &Head, limit: usize) -> Result<Vec<u8>, FilterError> {
        let too_large = || FilterError::Refused("container create body too large".into());
        if head.chunked {
            let mut body = Vec::new();
            loop {
                let size = chunk_size(&self.line().await?)?;
                if size == 0 {
                    while self.line().await? != b"\r\n" {}
                    return Ok(body);
                }
                if body.len() + size > limit {
                    return Err(too_large());
                }
                body.extend(self.take(size).await?);
                self.take(2).await?;
            }
        }
        let n = usize::try_from(head.content_length.unwrap_or(0)).map_err(|_| too_large())?;
        if n > limit {
            return Err(too_large());
        }
        Ok(self.take(n).await?)
    }

    /// Streams the body through unchanged.
    async fn copy_body<W: AsyncWrite + Unpin>(
        &mut self,
        head: &Head,
        out: &mut W,
    ) -> Result<(), FilterError> {
        if head.chunked {
            loop {
                let line = self.line().await?;
                let size = chunk_size(&line)?;
                out.write_all(&line).await?;
                if size == 0 {
                    loop {
                        let trailer = self.line().await?;
                        out.write_all(&trailer).await?;
                        if trailer == b"\r\n" {
                            return Ok(());
                        }
                    }
                }
                self.copy_exact(size as u64 + 2, out).await?;
            }
        }
        self.copy_exact(head.content_length.unwrap_or(0), out)
            .await?;
        Ok(())
    }

    async fn copy_exact<W: AsyncWrite + Unpin>(
        &mut self,
        mut n: u64,
        out: &mut W,
    ) -> io::Result<()> {
        while n > 0 {
            if self.buf.is_empty() && !self.fill().await? {
                return Err(truncated());
            }
            let take = self.buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            out.write_all(&self.buf[..take]).await?;
            self.buf.drain(..take);
            n -= take as u64;
            if self.buf.capacity() > 4 * COPY_CHUNK && self.buf.is_empty() {
                self.buf.shrink_to(COPY_CHUNK);
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Head {
    method: String,
    path: String,
    content_length: Option<u64>,
    chunked: bool,
    upgrade: bool,
}

impl Head {
    fn parse(raw: &[u8]) -> Option<Head> {
        let text = std::str::from_utf8(raw).ok()?;
        let mut lines = text.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_owned();
        let target = first.next()?;
        let path = target.split('?').next().unwrap_or(target).to_owned();
        let mut head = Head {
            method,
            path,
            content_length: None,
            chunked: false,
            upgrade: false,
        };
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':')?;
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => head.content_length = Some(value.parse().ok()?),
                "transfer-encoding" => {
                    head.chunked = value.to_ascii_lowercase().contains("chunked");
                }
                "upgrade" => head.upgrade = true,
                "connection" => {
                    head.upgrade |= value
                        .split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
                }
                _ => {}
            }
        }
        Some(head)
    }

    /// The path without an API version prefix (`/v1.47/containers/create` -> `/containers/create`).
    fn route(&self) -> &str {
        let p = self.path.as_str();
        match p.strip_prefix("/v") {
            Some(rest) => match rest.find('/') {
                Some(i) if rest[..i].chars().all(|c| c.is_ascii_digit() || c == '.') => &rest[i..],
                _ => p,
            },
            None => p,
        }
    }

    fn is_container_create(&self) -> bool {
        self.method == "POST" && self.route() == "/containers/create"
    }

    /// Attach, exec start and `Upgrade` requests turn the connection into a raw stream.
    fn hijacks(&self) -> bool {
        if self.upgrade {
            return true;
        }
        let parts: Vec<&str> = self.route().trim_matches('/').split('/').collect();
        self.method == "POST"
            && matches!(
                parts.as_slice(),
                ["containers", _, "attach"] | ["exec", _, "start"]
            )
    }

    /// `raw` with `Content-Length: len` instead of any length or transfer encoding.
    fn with_length(&self, raw: &[u8], len: usize) -> Vec<u8> {
        let text = String::from_utf8_lossy(raw);
        let mut out = String::with_capacity(raw.len() + 32);
        for line in text.trim_end_matches("\r\n").split("\r\n") {
            let name = line.split(':').next().unwrap_or("").trim();
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str(&format!("Content-Length: {len}\r\n\r\n"));
        out.into_bytes()
    }
}

fn chunk_size(line: &[u8]) -> Result<usize, FilterError> {
    let text = std::str::from_utf8(line).unwrap_or("");
    let hex = text
        .trim_end_matches("\r\n")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    usize::from_str_radix(hex, 16)
        .map_err(|_| FilterError::Refused("malformed chunked body".into()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the request ended inside its body",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upper_binds(body: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
        if text.contains("REFUSE") {
            return Err("C:relative is relative to a drive's current folder".into());
        }
        Ok(text
            .contains("c:\\")
            .then(|| text.replace("c:\\\\app", "/mnt/c/app").into_bytes()))
    }

    async fn run(input: &[u8]) -> Result<Vec<u8>, FilterError> {
        let mut out = Vec::new();
        // Feed in small pieces: framing must not depend on read boundaries.
        let (mut tx, mut rx) = tokio::io::duplex(7);
        let data = input.to_vec();
        let writer = tokio::spawn(async move {
            tx.write_all(&data).await.unwrap();
        });
        let result = forward_requests(&mut rx, &mut out, &upper_binds).await;
        writer.await.unwrap();
        result.map(|()| out)
    }

    #[tokio::test]
    async fn a_create_body_is_rewritten_with_a_fresh_length() {
        let body = br#"{"HostConfig":{"Binds":["c:\\app:/src"]}}"#;
        let req = format!(
            "POST /v1.47/containers/create?name=web HTTP/1.1\r\nHost: api.moby.localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut input = req.into_bytes();
        input.extend_from_slice(body);
        input.extend_from_slice(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
        let out = String::from_utf8(run(&input).await.unwrap()).unwrap();
        let new_body = r#"{"HostConfig":{"Binds":["/mnt/c/app:/src"]}}"#;
        assert!(
            out.starts_with("POST /v1.47/containers/create?name=web HTTP/1.1\r\n"),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "Content-Length: {}\r\n\r\n{new_body}",
                new_body.len()
            )),
            "{out}"
        );
        assert_eq!(out.matches("Content-Length").count(), 1, "{out}");
        assert!(
            out.ends_with("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn other_requests_and_unchanged_creates_pass_byte_for_byte() {
        let mut input = Vec::new();
        input.extend_from_slice(b"POST /containers/create HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
        input.extend_from_slice(b"POST /v1.41/build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nc:\\ab\r\n0\r\nTrailer: 1\r\n\r\n");
        input.extend_from_slice(b"POST /images/load HTTP/1.1\r\nContent-Length: 5\r\n\r\nc:\\ab");
        input.extend_from_slice(b"GET /containers/json?all=1 HTTP/1.1\r\n\r\n");
        assert_eq!(run(&input).await.unwrap(), input);
    }

    #[tokio::test]
    async fn a_chunked_create_is_dechunked_then_sent_with_a_length() {
        let input = b"POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n3\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n";
        let out = String::from_utf8(run(input).await.unwrap()).unwrap();
        assert_eq!(
            out,
            "POST /containers/create HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
        );
    }

    #[tokio::test]
    async fn after_a_hijack_the_rest_is_raw() {
        let mut input = b"POST /v1.47/containers/abc/attach?stream=1&stdin=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".to_vec();
        // Raw stdin that happens to look like a create request: not parsed.
        input.extend_from_slice(
            b"POST /containers/create HTTP/1.1\r\nContent-Length: 3\r\n\r\nREFUSE and more",
        );
        assert_eq!(run(&input).await.unwrap(), input);
        let exec =
            b"POST /exec/123/start HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}raw bytes \x00\xff"
                .to_vec();
        assert_eq!(run(&exec).await.unwrap(), exec);
    }

    #[tokio::test]
    async fn a_refused_rewrite_stops_the_request_with_its_message() {
        let input = b"POST /containers/create HTTP/1.1\r\nContent-Length: 6\r\n\r\nREFUSE";
        match run(input).await {
            Err(FilterError::Refused(m)) => assert!(m.contains("relative"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        let response = String::from_utf8(refusal_response("bad \"path\"")).unwrap();
        assert!(response.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(
            response.ends_with(r#"{"message":"bad \"path\""}"#),
            "{response}"
        );
    }

    #[tokio::test]
    async fn bounds_and_malformed_input_are_errors_not_panics() {
        let huge = format!(
            "POST /containers/create HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_CREATE_BODY + 1
        );
        assert!(matches!(
            run(huge.as_bytes()).await,
            Err(FilterError::Refused(_))
        ));
        assert!(matches!(
            run(b"POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").await,
            Err(FilterError::Refused(_))
        ));
        assert!(matches!(
            run(b"POST /build HTTP/1.1\r\nContent-Length: x\r\n\r\n").await,
            Err(FilterError::Refused(_))
        ));
        assert!(matches!(
            run(b"POST /build HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").await,
            Err(FilterError::Io(_))
        ));
        // A partial head at the end of stream goes on unchanged.
        assert_eq!(run(b"GET /_pi").await.unwrap(), b"GET /_pi");
    }

    #[tokio::test]
    async fn a_relayed_connection_gets_the_engines_answer_or_a_400() {
        // A stand-in engine: reads the whole request stream, then answers with what it got.
        // A refused request must never reach it; the 400 comes from the relay itself.
        async fn engine(mut side: tokio::io::DuplexStream) {
            let mut got = Vec::new();
            side.read_to_end(&mut got).await.unwrap();
            if got.is_empty() {
                // Like dockerd: no request, no response.
                side.shutdown().await.unwrap();
                return;
            }
            let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", got.len());
            side.write_all(answer.as_bytes()).await.unwrap();
            side.write_all(&got).await.unwrap();
            side.shutdown().await.unwrap();
        }
        for (request, expect) in [
            (&b"GET /_ping HTTP/1.1\r\n\r\n"[..], "200 OK"),
            (
                &b"POST /containers/create HTTP/1.1\r\nContent-Length: 6\r\n\r\nREFUSE"[..],
                "400 Bad Request",
            ),
        ] {
            let (mut client, conn) = tokio::io::duplex(1024);
            let (engine_side, relay_side) = tokio::io::duplex(1024);
            let fake = tokio::spawn(engine(engine_side));
            let relay =
                tokio::spawn(async move { relay_connection(conn, relay_side, &upper_binds).await });
            client.write_all(request).await.unwrap();
            client.shutdown().await.unwrap();
            let mut response = String::new();
            client.read_to_string(&mut response).await.unwrap();
            assert!(
                response.starts_with(&format!("HTTP/1.1 {expect}")),
                "{response}"
            );
            relay.await.unwrap().unwrap();
            fake.await.unwrap();
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let _ = rt.block_on(run(&input));
        }
    }
}
