//! Tier 2: the stock docker CLI driven through the relay's socket, with the agent side of the
//! link in-process in front of a real (harness) dockerd.
// The relay and the engine are reached over unix sockets here (the Windows named pipe has its
// own code path); the engine tier runs on Linux.
#![cfg(unix)]

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_testkit::{run, spawn_lines, Dockerd};
use support::InProcessRelay;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const STREAM_DEADLINE: Duration = Duration::from_secs(30);

fn docker(d: &Dockerd, relay: &InProcessRelay) -> Command {
    let mut cmd = d.docker();
    cmd.env("DOCKER_HOST", relay.docker_host());
    cmd
}

#[test]
fn relay_socket_is_private() {
    let d = Dockerd::start().expect("dockerd");
    let relay = InProcessRelay::start(d.socket());
    let mode = std::fs::metadata(&relay.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    let dir_mode = std::fs::metadata(relay.dir.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let info = {
        let c = relay.client.clone();
        relay.host.block_on(async move { c.ping().await })
    }
    .expect("ping");
    assert!(info.docker_ready, "agent sees the engine: {info:?}");
}

#[test]
fn docker_cli_works_through_the_relay() {
    let d = Dockerd::start().expect("dockerd");
    let image = d.test_image().expect("test image");
    let relay = InProcessRelay::start(d.socket());

    // version: both halves answer.
    let version = run(docker(&d, &relay).args(["version", "--format", "{{.Server.Version}}"]))
        .expect("docker version");
    assert!(!version.trim().is_empty(), "server version: {version:?}");

    // run --rm ... echo
    let out = run(docker(&d, &relay).args(["run", "--rm", &image, "echo", "hello-relay"]))
        .expect("docker run --rm");
    assert_eq!(out.trim(), "hello-relay");

    // events: a stream that stays open, replayed from before the container below starts.
    let since = run(Command::new("date").arg("+%s")).unwrap();
    let mut events_cmd = docker(&d, &relay);
    events_cmd.args([
        "events",
        "--since",
        since.trim(),
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let (_events, events) = spawn_lines(events_cmd);

    // run -d + logs -f: the stream arrives line by line.
    let name = d.unique_name("ticker");
    let id = run(docker(&d, &relay).args([
        "run",
        "-d",
        "--name",
        &name,
        &image,
        "sh",
        "-c",
        "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done",
    ]))
    .expect("docker run -d");
    let id = id.trim().to_owned();
    let mut logs_cmd = docker(&d, &relay);
    logs_cmd.args(["logs", "-f", &id]);
    let (_logs, logs) = spawn_lines(logs_cmd);
    logs.wait_for(STREAM_DEADLINE, "logs -f", |l| l == "tick5");
    events.wait_for(STREAM_DEADLINE, "start event", |l| {
        l == format!("start {name}")
    });

    // exec in a TTY, under script(1) so the CLI has a terminal.
    let exec = format!("docker exec -it {id} sh -c 'tty; echo exec-ok'");
    let mut script = Command::new("script");
    script
        .args(["-qec", &exec, "/dev/null"])
        .stdin(Stdio::null());
    for (key, value) in docker(&d, &relay).get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let out = run(&mut script).expect("docker exec -it");
    assert!(out.contains("/dev/pts/"), "tty output: {out:?}");
    assert!(out.contains("exec-ok"), "exec output: {out:?}");

    // cp in and out.
    let src = relay.dir.path().join("in.txt");
    std::fs::write(&src, "copied through the link\n").unwrap();
    run(docker(&d, &relay).args(["cp", src.to_str().unwrap(), &format!("{id}:/tmp/in.txt")]))
        .expect("docker cp in");
    let out_dir = relay.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    run(docker(&d, &relay).args([
        "cp",
        &format!("{id}:/tmp/in.txt"),
        out_dir.to_str().unwrap(),
    ]))
    .expect("docker cp out");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("in.txt")).unwrap(),
        "copied through the link\n"
    );

    // attach (hijacked, with stdin half-closed after one line).
    let cat_name = d.unique_name("echoer");
    run(docker(&d, &relay).args([
        "run",
        "-d",
        "-i",
        "--name",
        &cat_name,
        &image,
        "sh",
        "-c",
        "read line; echo got:$line",
    ]))
    .expect("docker run -d -i");
    // stdin stays open until the answer is back: the CLI ends an attach at stdin EOF.
    let mut attach_cmd = docker(&d, &relay);
    attach_cmd
        .args(["attach", "--sig-proxy=false", &cat_name])
        .stdin(Stdio::piped());
    let (mut attach, attached) = spawn_lines(attach_cmd);
    let mut stdin = attach.stdin.take().expect("attach stdin");
    // The CLI forwards stdin only once it is attached; a line written early waits in the pipe.
    stdin.write_all(b"hello-attach\n").unwrap();
    attached.wait_for(STREAM_DEADLINE, "attach output", |l| {
        l == "got:hello-attach"
    });
    drop(stdin);
    let status = attach.wait().expect("attach exit");
    assert!(status.success(), "attach exit: {status}");

    // build FROM scratch (the classic builder: this CLI has no buildx plugin).
    let ctx = relay.dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY hello.txt /hello.txt\n",
    )
    .unwrap();
    std::fs::write(ctx.join("hello.txt"), "built through the link\n").unwrap();
    let tag = format!("{}:1", d.unique_name("berth-relay-build"));
    run(docker(&d, &relay).env("DOCKER_BUILDKIT", "0").args([
        "build",
        "-q",
        "-t",
        &tag,
        ctx.to_str().unwrap(),
    ]))
    .expect("docker build");
    let size = run(docker(&d, &relay).args(["image", "inspect", "--format", "{{.Size}}", &tag]))
        .expect("inspect built image");
    assert_eq!(size.trim(), "23", "image holds just hello.txt");

    run(docker(&d, &relay).args(["rm", "-f", &id, &cat_name])).expect("docker rm");
    events.wait_for(STREAM_DEADLINE, "destroy event", |l| {
        l == format!("destroy {name}")
    });
}

#[test]
fn save_and_load_100_mib_through_the_relay() {
    let d = Dockerd::start().expect("dockerd");
    let relay = InProcessRelay::start(d.socket());
    let tag = "berth-relay/payload:1";
    d.payload_image(tag, 100).expect("payload image");
    let id_before = run(d
        .docker()
        .args(["image", "inspect", "--format", "{{.Id}}", tag]))
    .unwrap();

    let archive = relay.dir.path().join("payload.tar");
    run(docker(&d, &relay).args(["save", "-o", archive.to_str().unwrap(), tag])).expect("save");
    let len = std::fs::metadata(&archive).unwrap().len();
    assert!(len > 100 * 1024 * 1024, "archive is {len} bytes");

    run(docker(&d, &relay).args(["rmi", tag])).expect("rmi");
    // save | load, streamed through two relay connections at once.
    let load = docker(&d, &relay)
        .args(["load", "-i", archive.to_str().unwrap()])
        .output()
        .expect("load");
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let id_after = run(d
        .docker()
        .args(["image", "inspect", "--format", "{{.Id}}", tag]))
    .unwrap();
    assert_eq!(id_before, id_after);

    let mut save = docker(&d, &relay)
        .args(["save", tag])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn save");
    let out = docker(&d, &relay)
        .arg("load")
        .stdin(save.stdout.take().unwrap())
        .output()
        .expect("load from pipe");
    assert!(save.wait().unwrap().success());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(tag));
}

#[test]
fn two_hundred_concurrent_requests_all_succeed() {
    let d = Dockerd::start().expect("dockerd");
    let relay = InProcessRelay::start(d.socket());
    let socket = relay.socket.clone();
    let results = relay.host.block_on(async move {
        let mut tasks = Vec::new();
        for i in 0..200 {
            let socket = socket.clone();
            tasks.push(tokio::spawn(async move {
                let path = if i % 2 == 0 {
                    "/_ping"
                } else {
                    "/containers/json?all=1"
                };
                let mut c = tokio::net::UnixStream::connect(&socket).await?;
                let req =
                    format!("GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n");
                c.write_all(req.as_bytes()).await?;
                let mut resp = Vec::new();
                c.read_to_end(&mut resp).await?;
                Ok::<_, std::io::Error>(String::from_utf8_lossy(&resp).into_owned())
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    let failed: Vec<_> = results
        .iter()
        .filter(|r| !matches!(r, Ok(resp) if resp.starts_with("HTTP/1.1 200")))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 200 failed: {:?}",
        failed.len(),
        failed.first()
    );
}

#[test]
fn relay_stops_serving_when_the_link_closes() {
    let d = Dockerd::start().expect("dockerd");
    let relay = InProcessRelay::start(d.socket());
    let client = relay.client.clone();
    relay.host.block_on(async move {
        client.shutdown().await.expect("shutdown acknowledged");
        tokio::time::timeout(Duration::from_secs(10), client.closed())
            .await
            .expect("link closed after shutdown")
    });
    assert!({
        let c = relay.client.clone();
        relay.host.block_on(async move { c.ping().await })
    }
    .is_err());
}
