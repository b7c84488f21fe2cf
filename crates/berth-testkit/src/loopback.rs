//! The host's loopback as tests use it: a port nobody listens on, and a plain HTTP/1.0 `GET`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// `GET path` on 127.0.0.1:`port` with HTTP/1.0, the whole answer (status line, headers,
/// body) as bytes; each read waits at most `timeout`.
pub fn http_get(port: u16, path: &str, timeout: Duration) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn a_get_returns_the_whole_answer_and_a_free_port_refuses() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = [0u8; 256];
            let n = s.read(&mut request).unwrap();
            let line = String::from_utf8_lossy(&request[..n]).into_owned();
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\nhello").unwrap();
            line
        });
        let answer = http_get(port, "/x", Duration::from_secs(5)).unwrap();
        assert_eq!(answer, b"HTTP/1.0 200 OK\r\n\r\nhello");
        assert!(server.join().unwrap().starts_with("GET /x HTTP/1.0\r\n"));
        let unused = free_port();
        assert!(http_get(unused, "/", Duration::from_secs(1)).is_err());
    }
}
