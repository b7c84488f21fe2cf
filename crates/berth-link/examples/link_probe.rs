//! Manual probe of a running guest's link (e.g. `vm-image/test/boot.sh --keep`):
//!
//! `cargo run --release -p berth-link --example link_probe -- <link.sock> <relay.sock> [seconds] [--shutdown] [--tcp-read PORT]`
//!
//! Connects to QEMU's chardev socket, handshakes, waits until the agent reports the engine
//! ready, prints `/_ping` latency through the link, serves `<relay.sock>` as an engine socket
//! for `seconds` (default 0), then with `--shutdown` asks the agent to power the guest off.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_link::{relay, LinkClient, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let link = PathBuf::from(
        args.first()
            .ok_or("usage: link_probe <link.sock> <relay.sock> [seconds] [--shutdown]")?,
    );
    let relay_path = PathBuf::from(args.get(1).ok_or("missing relay socket path")?);
    let serve_secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let shutdown = args.iter().any(|a| a == "--shutdown");
    let tcp_read: Option<u16> = args
        .iter()
        .position(|a| a == "--tcp-read")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok());

    let t0 = Instant::now();
    let io = tokio::net::UnixStream::connect(&link).await?;
    let client =
        tokio::time::timeout(Duration::from_secs(120), LinkClient::handshake(io)).await??;
    println!("handshake after {:?}: {:?}", t0.elapsed(), client.session());
    loop {
        let info = client.ping().await?;
        if info.docker_ready {
            println!("engine ready after {:?}: {info:?}", t0.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut samples = Vec::new();
    for _ in 0..300 {
        let start = Instant::now();
        let mut s = client.open(Target::Engine).await?;
        s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await?;
        assert!(resp.starts_with(b"HTTP/1.0 200"));
        samples.push(start.elapsed());
    }
    samples.sort();
    println!(
        "/_ping over the link (new stream each): p50 {:?} p99 {:?}",
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100]
    );

    if let Some(port) = tcp_read {
        let start = Instant::now();
        let mut s = client.open(Target::Tcp { port }).await?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "read {total} bytes from guest port {port} in {secs:.2} s: {:.1} MiB/s",
            total as f64 / 1048576.0 / secs
        );
    }

    if serve_secs > 0 {
        let listener = relay::bind_private(&relay_path)?;
        println!("serving unix://{} for {serve_secs} s", relay_path.display());
        let served = relay::serve_unix(listener, client.clone(), relay::Door::open());
        let _ = tokio::time::timeout(Duration::from_secs(serve_secs), served).await;
    }
    if shutdown {
        let t1 = Instant::now();
        client.shutdown().await?;
        client.closed().await;
        println!(
            "shutdown acknowledged, link closed after {:?}",
            t1.elapsed()
        );
    }
    Ok(())
}
