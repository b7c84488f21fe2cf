//! A UDP echo server for the busybox test image (whose `nc` has no `-u`), and the client side
//! that asks it through a published port.

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{run, wait_until, HarnessError};

/// A static UDP echo server: listens on the port named by its argument and answers each
/// datagram with `udp-echo:` and the datagram.
const UDP_ECHO_C: &str = r#"
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    static char buf[65536];
    memcpy(buf, "udp-echo:", 9);
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(s, buf + 9, sizeof buf - 9, 0, (struct sockaddr *)&peer, &len);
        if (n >= 0) sendto(s, buf, n + 9, 0, (struct sockaddr *)&peer, len);
    }
}
"#;

/// Compiles the echo server statically (`cc -static`) to `bin`; its source is written to
/// `scratch` (a directory).
pub fn build_udp_echo(scratch: &Path, bin: &Path) -> Result<(), HarnessError> {
    let src = scratch.join("udp-echo.c");
    std::fs::write(&src, UDP_ECHO_C).map_err(HarnessError::io(&src))?;
    run(Command::new("cc")
        .args(["-static", "-Os", "-o"])
        .arg(bin)
        .arg(&src))?;
    Ok(())
}

/// Sends `text` to the host's UDP `port` until an answer comes (a forwarder starts listening
/// shortly after its container starts), for up to `deadline`; returns the answer.
pub fn udp_ask(port: u16, text: &str, deadline: Duration) -> Result<String, HarnessError> {
    let client = UdpSocket::bind("127.0.0.1:0").map_err(HarnessError::io("a UDP socket"))?;
    client
        .set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(HarnessError::io("a UDP socket"))?;
    let mut buf = [0u8; 2048];
    wait_until(deadline, &format!("a UDP answer on port {port}"), || {
        client.send_to(text.as_bytes(), ("127.0.0.1", port))?;
        let n = client.recv(&mut buf)?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf[..n]).into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChildGuard;

    #[test]
    fn the_echo_server_answers_udp_ask() {
        let dir = std::env::temp_dir().join(format!("bt-udp-echo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("udp-echo");
        build_udp_echo(&dir, &bin).unwrap();
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let _server = ChildGuard::spawn(Command::new(&bin).arg(port.to_string())).unwrap();
        let answer = udp_ask(port, "hi", Duration::from_secs(10)).unwrap();
        assert_eq!(answer, "udp-echo:hi");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
