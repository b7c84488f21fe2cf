//! `cargo bench -p berth-link --bench relay`: the engine relay's own overhead.
//!
//! One harness dockerd; the same requests three ways: straight to its socket, through the
//! link relay (host relay + mux + in-process agent, no VM: the relay's cost alone), and
//! through `socat` (the usual "just forward the socket" baseline). Prints `/_ping` latency
//! (a new connection per request, and keep-alive) and save/load throughput of a 100 MiB image.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_testkit::{wait_until, Dockerd};

const PING_WARMUP: usize = 200;
const PING_COUNT: usize = 3000;
const PAYLOAD_MIB: u64 = 100;
const THROUGHPUT_RUNS: usize = 3;
const TAG: &str = "berth-bench/payload:1";

fn main() {
    let d = Dockerd::start().expect("dockerd");
    d.payload_image(TAG, PAYLOAD_MIB).expect("payload image");
    let relay = support::InProcessRelay::start(d.socket());
    let socat = Socat::start(d.socket(), &relay.dir.path().join("socat.sock"));

    let ways: [(&str, &Path); 3] = [
        ("direct", d.socket()),
        ("relay", &relay.socket),
        ("socat", &socat.socket),
    ];

    println!("/_ping round trip, {PING_COUNT} requests each (µs)");
    println!(
        "{:<8} {:>12} {:>12} {:>14} {:>14}",
        "way", "new-conn p50", "new-conn p99", "keepalive p50", "keepalive p99"
    );
    let mut p50s = Vec::new();
    let mut link_writes = Vec::new();
    for (name, sock) in ways {
        let before = support::LINK_WRITES.get();
        let fresh = percentiles(ping_fresh(sock));
        let middle = support::LINK_WRITES.get();
        let kept = percentiles(ping_keepalive(sock));
        let after = support::LINK_WRITES.get();
        println!(
            "{name:<8} {:>12.0} {:>12.0} {:>14.0} {:>14.0}",
            fresh.0, fresh.1, kept.0, kept.1
        );
        p50s.push((fresh.0, kept.0));
        if name == "relay" {
            link_writes = vec![("new-conn", before, middle), ("keepalive", middle, after)];
        }
    }
    let requests = (PING_WARMUP + PING_COUNT) as f64;
    for (what, from, to) in link_writes {
        println!(
            "link writes per {what} request: host {:.2}, guest {:.2}",
            (to.0 - from.0) as f64 / requests,
            (to.1 - from.1) as f64 / requests
        );
    }
    for (i, name) in ["relay", "socat"].iter().enumerate() {
        println!(
            "ratio {name}/direct p50: new-conn {:.2}x, keepalive {:.2}x",
            p50s[i + 1].0 / p50s[0].0,
            p50s[i + 1].1 / p50s[0].1
        );
    }

    let archive = save(d.socket()).1;
    println!();
    println!(
        "save/load of a {} MiB image ({} byte archive), best of {THROUGHPUT_RUNS} (MiB/s)",
        PAYLOAD_MIB,
        archive.len()
    );
    println!("{:<8} {:>10} {:>10}", "way", "save", "load");
    let mut rates = Vec::new();
    for (name, sock) in ways {
        let save_rate = best_rate(|| save(sock).0);
        let load_rate = best_rate(|| load(sock, &archive));
        println!("{name:<8} {save_rate:>10.0} {load_rate:>10.0}");
        rates.push((save_rate, load_rate));
    }
    for (i, name) in ["relay", "socat"].iter().enumerate() {
        println!(
            "ratio {name}/direct: save {:.2}x, load {:.2}x",
            rates[i + 1].0 / rates[0].0,
            rates[i + 1].1 / rates[0].1
        );
    }
}

/// `(p50, p99)` in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50).as_secs_f64() * 1e6, at(0.99).as_secs_f64() * 1e6)
}

const PING: &[u8] = b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n";

fn ping_fresh(sock: &Path) -> Vec<Duration> {
    (0..PING_WARMUP + PING_COUNT)
        .map(|_| {
            let start = Instant::now();
            let mut c = UnixStream::connect(sock).expect("connect");
            c.write_all(PING).expect("write");
            read_response(&mut c);
            start.elapsed()
        })
        .skip(PING_WARMUP)
        .collect()
}

fn ping_keepalive(sock: &Path) -> Vec<Duration> {
    let mut c = UnixStream::connect(sock).expect("connect");
    (0..PING_WARMUP + PING_COUNT)
        .map(|_| {
            let start = Instant::now();
            c.write_all(PING).expect("write");
            read_response(&mut c);
            start.elapsed()
        })
        .skip(PING_WARMUP)
        .collect()
}

/// Read one response with a Content-Length body (what `/_ping` sends).
fn read_response(c: &mut UnixStream) {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = c.read(&mut chunk).expect("read");
        assert!(n > 0, "connection closed mid-response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().expect("content-length"))
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return;
        }
    }
}

fn best_rate(mut f: impl FnMut() -> (u64, Duration)) -> f64 {
    (0..THROUGHPUT_RUNS)
        .map(|_| {
            let (bytes, took) = f();
            bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// `GET /images/<tag>/get` read to the end: `((bytes, time), body)`.
fn save(sock: &Path) -> ((u64, Duration), Vec<u8>) {
    let start = Instant::now();
    let mut c = UnixStream::connect(sock).expect("connect");
    let req = format!(
        "GET /images/{}/get HTTP/1.0\r\nHost: docker\r\n\r\n",
        TAG.replace('/', "%2F")
    );
    c.write_all(req.as_bytes()).expect("write");
    let mut resp = Vec::with_capacity(128 << 20);
    c.read_to_end(&mut resp).expect("read");
    let took = start.elapsed();
    let end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    assert!(resp.starts_with(b"HTTP/1.0 200"), "save failed");
    let body = resp.split_off(end + 4);
    ((body.len() as u64, took), body)
}

/// `POST /images/load` with the archive as the body, read to the end.
fn load(sock: &Path, archive: &[u8]) -> (u64, Duration) {
    let start = Instant::now();
    let mut c = UnixStream::connect(sock).expect("connect");
    let head = format!(
        "POST /images/load?quiet=1 HTTP/1.0\r\nHost: docker\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        archive.len()
    );
    c.write_all(head.as_bytes()).expect("write");
    c.write_all(archive).expect("write body");
    let mut resp = Vec::new();
    c.read_to_end(&mut resp).expect("read");
    assert!(
        resp.starts_with(b"HTTP/1.0 200"),
        "load failed: {}",
        String::from_utf8_lossy(&resp)
    );
    (archive.len() as u64, start.elapsed())
}

/// `socat UNIX-LISTEN:<sock>,fork UNIX-CONNECT:<docker.sock>`, stopped by its PID on drop.
struct Socat {
    child: Child,
    socket: PathBuf,
}

impl Socat {
    fn start(target: &Path, socket: &Path) -> Socat {
        let child = Command::new("socat")
            .arg(format!("UNIX-LISTEN:{},fork,mode=600", socket.display()))
            .arg(format!("UNIX-CONNECT:{}", target.display()))
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn socat (apt-get install socat)");
        let socat = Socat {
            child,
            socket: socket.to_owned(),
        };
        wait_until(Duration::from_secs(10), "socat socket", || {
            UnixStream::connect(&socat.socket).ok()
        })
        .expect("socat listening");
        socat
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
