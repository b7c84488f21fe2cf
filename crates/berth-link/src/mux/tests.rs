use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::frame::{KIND_DATA, KIND_OPEN};
use super::{client, server, spawn, MuxHandle, WINDOW};
use crate::LinkError;

const DEADLINE: Duration = Duration::from_secs(10);

/// A host and an agent multiplexer joined by an in-memory pipe; the agent echoes every
/// stream reversed once the host half-closes it.
fn reversing_pair(pipe: usize) -> MuxHandle {
    let (a, b) = tokio::io::duplex(pipe);
    let host = client(a);
    let (agent, mut inbound) = server(b);
    tokio::spawn(async move {
        let _agent = agent;
        while let Some(mut s) = inbound.recv().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                s.read_to_end(&mut buf).await.unwrap();
                buf.reverse();
                s.write_all(&buf).await.unwrap();
                s.shutdown().await.unwrap();
            });
        }
    });
    host
}

#[tokio::test]
async fn streams_are_independent_and_half_close() {
    let host = reversing_pair(1 << 16);
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = host.open().await.unwrap();
            s.write_all(&[i, 1, 2]).await.unwrap();
            s.shutdown().await.unwrap();
            let mut back = Vec::new();
            s.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, vec![2, 1, i]);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_streams_carry_large_bodies_intact() {
    // A small pipe forces partial frames and writes that wait for the byte stream.
    let host = reversing_pair(4096);
    let mut tasks = Vec::new();
    for i in 0..300u32 {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let len = if i % 50 == 0 {
                3 << 20
            } else {
                1000 + i as usize
            };
            let body: Vec<u8> = (0..len).map(|n| (n as u32 ^ i) as u8).collect();
            let mut s = host.open().await.unwrap();
            let (mut r, mut w) = tokio::io::split(&mut s);
            let write = async {
                w.write_all(&body).await.unwrap();
                w.shutdown().await.unwrap();
            };
            let mut back = Vec::new();
            let read = r.read_to_end(&mut back);
            let (_, got) = tokio::join!(write, read);
            got.unwrap();
            back.reverse();
            assert!(back == body, "stream {i} came back altered");
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("stream finished")
            .unwrap();
    }
}

#[tokio::test]
async fn a_writer_waits_for_credit_and_other_streams_keep_flowing() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let host = client(a);
    let (_agent, mut inbound) = server(b);
    let mut slow = host.open().await.unwrap();
    slow.write_all(b"x").await.unwrap();
    let mut slow_far = inbound.recv().await.unwrap();

    // The peer reads nothing: exactly one window goes through, then the writer waits.
    let big = vec![7u8; WINDOW as usize + 4096];
    let mut sent = 1;
    let mut left = &big[..];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(300), slow.write(left)).await {
        sent += n;
        left = &left[n..];
    }
    assert_eq!(
        sent, WINDOW as usize,
        "bytes accepted before the credit ran out"
    );

    // Another stream is not held up by the stalled one.
    let mut other = host.open().await.unwrap();
    other.write_all(b"ping").await.unwrap();
    let mut other_far = inbound.recv().await.unwrap();
    let mut got = [0u8; 4];
    tokio::time::timeout(DEADLINE, other_far.read_exact(&mut got))
        .await
        .expect("other stream flows")
        .unwrap();
    assert_eq!(&got, b"ping");

    // Reading on the far side grants credit and the rest goes through.
    let reader = tokio::spawn(async move {
        let mut all = Vec::new();
        slow_far.read_to_end(&mut all).await.unwrap();
        all.len()
    });
    tokio::time::timeout(DEADLINE, slow.write_all(left))
        .await
        .expect("writer resumed")
        .unwrap();
    slow.shutdown().await.unwrap();
    assert_eq!(reader.await.unwrap(), big.len() + 1);
}

#[tokio::test]
async fn dropping_a_stream_resets_it_and_the_link_survives() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let host = client(a);
    let (_agent, mut inbound) = server(b);
    let mut s = host.open().await.unwrap();
    s.write_all(b"hello").await.unwrap();
    let mut far = inbound.recv().await.unwrap();
    let mut got = [0u8; 5];
    far.read_exact(&mut got).await.unwrap();
    drop(s);
    let err = tokio::time::timeout(DEADLINE, far.read(&mut got))
        .await
        .expect("reset arrives")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(
        far.write(b"late").await.unwrap_err().kind(),
        io::ErrorKind::ConnectionReset
    );
    // Data already sent is read before the reset shows.
    let mut s = host.open().await.unwrap();
    let mut far = inbound.recv().await.unwrap();
    far.write_all(b"reply").await.unwrap();
    drop(far);
    let mut got = [0u8; 5];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"reply");
    assert!(s.read(&mut got).await.is_err());
}

#[tokio::test]
async fn writes_after_shutdown_fail_and_reads_still_work() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let host = client(a);
    let (_agent, mut inbound) = server(b);
    let mut s = host.open().await.unwrap();
    s.shutdown().await.unwrap();
    assert_eq!(
        s.write(b"x").await.unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    let mut far = inbound.recv().await.unwrap();
    let mut nothing = Vec::new();
    far.read_to_end(&mut nothing).await.unwrap();
    assert!(nothing.is_empty());
    far.write_all(b"still open").await.unwrap();
    far.shutdown().await.unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).await.unwrap();
    assert_eq!(got, "still open");
}

#[tokio::test]
async fn lazy_frames_leave_with_the_next_urgent_one() {
    let (a, b) = tokio::io::duplex(1 << 16);
    // Lazy frames would wait an hour on their own.
    let host = spawn(a, None, true, Duration::from_secs(3600));
    let (_agent, mut inbound) = server(b);
    let mut first = host.open().await.unwrap();
    first.write_all(b"1").await.unwrap();
    let mut first_far = inbound.recv().await.unwrap();
    let mut one = [0u8; 1];
    first_far.read_exact(&mut one).await.unwrap();
    // The host's FIN is lazy; the next stream's data is not, and takes it along.
    first.shutdown().await.unwrap();
    let mut second = host.open().await.unwrap();
    second.write_all(b"2").await.unwrap();
    let mut second_far = tokio::time::timeout(DEADLINE, inbound.recv())
        .await
        .expect("urgent frames are not held back")
        .unwrap();
    second_far.read_exact(&mut one).await.unwrap();
    assert_eq!(&one, b"2");
    let mut rest = Vec::new();
    tokio::time::timeout(DEADLINE, first_far.read_to_end(&mut rest))
        .await
        .expect("the lazy FIN went along")
        .unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn closed_resolves_when_the_peer_goes_away() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let host = client(a);
    let (agent, inbound) = server(b);
    drop(inbound);
    drop(agent);
    tokio::time::timeout(DEADLINE, host.closed())
        .await
        .expect("host noticed the close");
    assert!(host.is_closed());
    assert!(matches!(host.open().await, Err(LinkError::Closed)));
}

#[tokio::test]
async fn open_streams_fail_when_the_byte_stream_vanishes() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let host = client(a);
    let (agent, mut inbound) = server(b);
    let mut s = host.open().await.unwrap();
    s.write_all(b"x").await.unwrap();
    let far = inbound.recv().await.unwrap();
    // The agent's side goes away with the stream still open.
    drop(agent);
    let mut buf = [0u8; 8];
    let err = tokio::time::timeout(DEADLINE, s.read(&mut buf))
        .await
        .expect("read ended")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
    assert!(s.write_all(b"more").await.is_err());
    drop(far);
    host.closed().await;
}

#[tokio::test]
async fn queued_data_is_sent_before_the_last_handle_closes_the_link() {
    let (a, b) = tokio::io::duplex(64);
    let host = client(a);
    let (_agent, mut inbound) = server(b);
    let mut s = host.open().await.unwrap();
    s.write_all(&[9u8; 10_000]).await.unwrap();
    s.shutdown().await.unwrap();
    drop(host);
    let mut far = inbound.recv().await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(DEADLINE, far.read_to_end(&mut got))
        .await
        .expect("read ended")
        .unwrap();
    assert_eq!(got.len(), 10_000);
}

#[tokio::test]
async fn a_peer_that_breaks_the_protocol_closes_the_link() {
    for garbage in [
        // Unknown frame kind.
        vec![99, 0, 0, 0, 1, 0, 0, 0, 0],
        // Data beyond the window on an open stream.
        [
            &[KIND_OPEN, 0, 0, 0, 1, 0, 0, 0, 0][..],
            &[KIND_DATA, 0, 0, 0, 1][..],
            &(WINDOW + 1).to_be_bytes()[..],
        ]
        .concat(),
        // The same stream opened twice.
        [KIND_OPEN, 0, 0, 0, 1, 0, 0, 0, 0].repeat(2),
    ] {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        let (agent, _inbound) = server(b);
        a.write_all(&garbage).await.unwrap();
        tokio::time::timeout(DEADLINE, agent.closed())
            .await
            .expect("agent closed the link");
    }
}

#[tokio::test]
async fn the_agent_cannot_open_streams_on_the_host() {
    let (a, mut b) = tokio::io::duplex(1 << 16);
    let host = client(a);
    b.write_all(&[KIND_OPEN, 0, 0, 0, 1, 0, 0, 0, 0])
        .await
        .unwrap();
    tokio::time::timeout(DEADLINE, host.closed())
        .await
        .expect("host closed the link");
}
