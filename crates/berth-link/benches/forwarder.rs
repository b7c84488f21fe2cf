//! `cargo bench -p berth-link --bench forwarder`: the published-port forwarder's own cost.
//!
//! One host server (TCP and UDP); the same requests two ways: straight to it on loopback, and
//! through the forwarder (host listener -> link multiplexer over a unix socket pair -> the
//! agent's own code, in process -> the server: everything but the VM). Prints, side by side:
//! request/response latency (64 bytes each way) on a kept connection, with a new connection
//! per request, and over UDP; and one-way TCP throughput.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_link::guest::{self, GuestConfig};
use berth_link::port_forwarder::{Binding, PortForwarder, Protocol};
use berth_link::LinkClient;
use berth_testkit::free_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MSG: usize = 64;
const WARMUP: usize = 300;
const RR_COUNT: usize = 5000;
const CONNECT_COUNT: usize = 1000;
const UDP_COUNT: usize = 3000;
const BULK_MIB: u64 = 512;
const BULK_RUNS: usize = 3;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (tcp_server, udp_server) = rt.block_on(servers());
    let (tcp_forwarded, udp_forwarded) = rt.block_on(forwarder(tcp_server, udp_server));
    let ways = [
        ("direct", tcp_server, udp_server),
        ("forwarder", tcp_forwarded, udp_forwarded),
    ];

    println!("request/response of {MSG} bytes each way (µs)");
    println!(
        "{:<10} {:>9} {:>9} {:>11} {:>11} {:>9} {:>9}",
        "way", "tcp p50", "tcp p99", "connect p50", "connect p99", "udp p50", "udp p99"
    );
    let mut p50 = Vec::new();
    for (name, tcp, udp) in ways {
        let kept = percentiles(rr_kept(tcp));
        let fresh = percentiles(rr_fresh(tcp));
        let dgram = percentiles(rr_udp(udp));
        println!(
            "{name:<10} {:>9.0} {:>9.0} {:>11.0} {:>11.0} {:>9.0} {:>9.0}",
            kept.0, kept.1, fresh.0, fresh.1, dgram.0, dgram.1
        );
        p50.push((kept.0, fresh.0, dgram.0));
    }
    println!(
        "ratio forwarder/direct p50: tcp {:.2}x, connect {:.2}x, udp {:.2}x",
        p50[1].0 / p50[0].0,
        p50[1].1 / p50[0].1,
        p50[1].2 / p50[0].2
    );

    println!();
    println!("one-way TCP throughput, {BULK_MIB} MiB, best of {BULK_RUNS} (MiB/s)");
    let mut rates = Vec::new();
    for (name, tcp, _) in ways {
        let rate = (0..BULK_RUNS).map(|_| bulk(tcp)).fold(0.0, f64::max);
        println!("{name:<10} {rate:>9.0}");
        rates.push(rate);
    }
    println!("ratio forwarder/direct: {:.2}x", rates[1] / rates[0]);
}

/// A TCP server (first byte `E`: echo `MSG`-byte requests; `S`: read a `u64` length, send that
/// many bytes) and a UDP echo server, on loopback.
async fn servers() -> (SocketAddr, SocketAddr) {
    let tcp = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind tcp");
    let tcp_addr = tcp.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = tcp.accept().await else {
                continue;
            };
            tokio::spawn(serve_tcp(conn));
        }
    });
    let udp = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind udp");
    let udp_addr = udp.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            if let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                let _ = udp.send_to(&buf[..n], peer).await;
            }
        }
    });
    (tcp_addr, udp_addr)
}

async fn serve_tcp(mut conn: tokio::net::TcpStream) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let mut mode = [0u8; 1];
    conn.read_exact(&mut mode).await?;
    if mode[0] == b'S' {
        let mut len = [0u8; 8];
        conn.read_exact(&mut len).await?;
        let chunk = vec![0x5au8; 256 * 1024];
        let mut left = u64::from_be_bytes(len);
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            conn.write_all(&chunk[..n]).await?;
            left -= n as u64;
        }
        return conn.shutdown().await;
    }
    let mut buf = [0u8; MSG];
    loop {
        conn.read_exact(&mut buf).await?;
        conn.write_all(&buf).await?;
    }
}

/// The forwarder in front of the servers, with the agent in process at the other end of the
/// link. Returns the forwarded TCP and UDP addresses.
async fn forwarder(tcp: SocketAddr, udp: SocketAddr) -> (SocketAddr, SocketAddr) {
    let (host_io, agent_io) = tokio::net::UnixStream::pair().expect("socket pair");
    tokio::spawn(guest::serve(
        agent_io,
        Arc::new(GuestConfig::new("/nonexistent")),
    ));
    let client = LinkClient::handshake(host_io).await.expect("handshake");
    let tcp_port = free_port();
    let udp_port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free udp port")
        .port();
    let binding = |host_port, guest_port, protocol| Binding {
        container: "bench".into(),
        host_ip: Ipv4Addr::LOCALHOST.into(),
        host_port,
        guest_port,
        protocol,
    };
    let mut fw = PortForwarder::new(Arc::new(client));
    let events = fw
        .reconcile(vec![
            binding(tcp_port, tcp.port(), Protocol::Tcp),
            binding(udp_port, udp.port(), Protocol::Udp),
        ])
        .await;
    assert!(events.iter().all(|e| e.warning().is_none()), "{events:?}");
    // The forwarder lives as long as the bench.
    std::mem::forget(fw);
    (
        SocketAddr::from((Ipv4Addr::LOCALHOST, tcp_port)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, udp_port)),
    )
}

fn connect(addr: SocketAddr, mode: u8) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(&[mode]).expect("mode");
    s
}

fn round_trip(s: &mut TcpStream) {
    let mut buf = [7u8; MSG];
    s.write_all(&buf).expect("request");
    s.read_exact(&mut buf).expect("reply");
}

fn rr_kept(addr: SocketAddr) -> Vec<Duration> {
    let mut s = connect(addr, b'E');
    (0..WARMUP).for_each(|_| round_trip(&mut s));
    (0..RR_COUNT)
        .map(|_| {
            let t = Instant::now();
            round_trip(&mut s);
            t.elapsed()
        })
        .collect()
}

fn rr_fresh(addr: SocketAddr) -> Vec<Duration> {
    (0..WARMUP / 3).for_each(|_| round_trip(&mut connect(addr, b'E')));
    (0..CONNECT_COUNT)
        .map(|_| {
            let t = Instant::now();
            round_trip(&mut connect(addr, b'E'));
            t.elapsed()
        })
        .collect()
}

fn rr_udp(addr: SocketAddr) -> Vec<Duration> {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [7u8; MSG];
    let mut once = || {
        s.send(&buf).expect("send");
        s.recv(&mut buf).expect("a UDP answer within 5 s")
    };
    (0..WARMUP).for_each(|_| {
        once();
    });
    (0..UDP_COUNT)
        .map(|_| {
            let t = Instant::now();
            once();
            t.elapsed()
        })
        .collect()
}

/// MiB/s of one `BULK_MIB` download.
fn bulk(addr: SocketAddr) -> f64 {
    let mut s = connect(addr, b'S');
    let total = BULK_MIB << 20;
    let t = Instant::now();
    s.write_all(&total.to_be_bytes()).expect("length");
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    assert_eq!(got, total, "every byte arrived");
    BULK_MIB as f64 / t.elapsed().as_secs_f64()
}

/// (p50, p99) in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() - 1) as f64 * q).round() as usize;
        samples[i].as_secs_f64() * 1e6
    };
    (at(0.5), at(0.99))
}
