//! Tier 3: the real guest image booted under QEMU (TCG here), driven by the real `berth` CLI
//! and the stock `docker` CLI through the `berth` context. One test function with phases:
//! every boot costs ~30 s under TCG on two cores.
//!
//! Needs: the image (`vm-image/build.sh`, cached), qemu-system-x86_64, qemu-img, docker CLI,
//! busybox-static, script(1). A missing one fails the test.
// The VM tier boots the Linux QEMU backend.
#![cfg(target_os = "linux")]

#[path = "vm_engine_parts/resource_saver.rs"]
mod resource_saver;
mod vm_support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_testkit::file_mode as mode;
use berth_testkit::{spawn_lines, wait_until};
use vm_support::{busybox_root, import_tar, run, tar_dir, Env};

const STREAM_DEADLINE: Duration = Duration::from_secs(60);

impl Env {
    fn start(&self) -> (String, Duration) {
        self.booted(self.berth(&["start"]), "berth start")
    }
}

/// A busybox-static rootfs tar (plus `extra_mib` of random bytes in /payload).
fn busybox_tar(dir: &Path, name: &str, extra_mib: u64) -> PathBuf {
    let root = busybox_root(dir, name);
    if extra_mib > 0 {
        run(
            Command::new("head")
                .args(["-c", &format!("{}", extra_mib << 20), "/dev/urandom"])
                .stdout(std::fs::File::create(root.join("payload")).unwrap()),
            "payload",
        );
    }
    let tar = dir.join(format!("{name}.tar"));
    tar_dir(&root, &tar);
    tar
}

/// The inodes of TCP sockets listening in this network namespace.
fn listening_tcp_inodes() -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.get(3) == Some(&"0A") {
                if let Some(inode) = cols.get(9) {
                    inodes.push((*inode).to_owned());
                }
            }
        }
    }
    inodes
}

fn socket_inodes_of(pid: u32) -> Vec<String> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("qemu fds") {
        let Ok(target) = std::fs::read_link(entry.unwrap().path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
        {
            inodes.push(inode.to_owned());
        }
    }
    inodes
}

/// What `berth status` says the VM holds of the host's memory (QEMU's resident set), in MiB.
fn host_memory_mib(env: &Env) -> u64 {
    let status = env.status();
    let bytes = status["daemon"]["vm"]["hostMemoryBytes"].as_u64();
    bytes.unwrap_or_else(|| panic!("no daemon.vm.hostMemoryBytes in {status}")) >> 20
}

fn http_get(socket: &Path, path: &str) -> std::io::Result<String> {
    let mut conn = UnixStream::connect(socket)?;
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
    )?;
    let mut resp = String::new();
    conn.read_to_string(&mut resp)?;
    Ok(resp)
}

/// `GET /` on the host's loopback `port`, the whole answer.
fn tcp_get(port: u16) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out)?;
    Ok(out)
}

#[test]
fn vm_engine_end_to_end() {
    let env = Env::new("berth-vm-");
    let work = env.home.path().join("work");
    std::fs::create_dir_all(&work).unwrap();

    // --- start -------------------------------------------------------------------------
    let (out, took) = env.start();
    eprintln!("first boot (blank data disk) to engine ready: {took:?}");
    let socket = env.run_dir().join("docker.sock");
    assert!(out.contains(&socket.display().to_string()), "{out}");
    assert!(out.contains("docker --context berth"), "{out}");
    assert_eq!(env.state(), "running");

    // --- the start's phases: the guest init's marks, through the agent, in the status -------
    let boot = wait_until(Duration::from_secs(10), "the boot's dockerd mark", || {
        let boot = env.status()["daemon"]["boot"].clone();
        let marks: Vec<String> = boot["guest"]
            .as_array()?
            .iter()
            .filter_map(|m| m["name"].as_str().map(str::to_owned))
            .collect();
        marks
            .iter()
            .any(|m| m == "dockerd")
            .then_some((boot, marks))
    });
    let (boot, marks) = boot.unwrap();
    for step in [
        "kernel",
        "stage2",
        "disk_start",
        "disk",
        "engine_started",
        "containerd",
        "system_ready",
        "agent",
        "dockerd",
    ] {
        assert!(marks.iter().any(|m| m == step), "{step} in {marks:?}");
    }
    let ready_ms = boot["engineReadyMs"].as_u64().unwrap();
    assert!(
        ready_ms > 0 && ready_ms <= took.as_millis() as u64,
        "{boot}"
    );
    let human = run(&mut env.berth(&["status"]), "berth status");
    let line = human
        .lines()
        .find(|l| l.contains("Last start"))
        .unwrap_or_else(|| panic!("no Last start row in:\n{human}"));
    for phase in ["kernel", "init", "disk", "containerd", "dockerd", "agent"] {
        assert!(line.contains(&format!("{phase} ")), "{phase} in {line}");
    }
    eprintln!("{}", line.trim());

    // --- security: modes, and no TCP port opened by QEMU -----------------------------
    // Every Berth folder, the data disk (every image and volume) and every log: the user's.
    let home = env.home.path();
    for dir in ["config", "data", "run", "logs"] {
        assert_eq!(mode(&home.join(dir)), 0o700, "{dir}");
    }
    assert_eq!(
        mode(&home.join("data/vm/data.qcow2")),
        0o600,
        "the data disk"
    );
    let logs: Vec<_> = std::fs::read_dir(home.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    for name in [
        "vm-console.log",
        "qemu.log",
        "daemon.log",
        "daemon-output.log",
    ] {
        assert!(
            logs.contains(&home.join("logs").join(name)),
            "{name} in {logs:?}"
        );
    }
    for log in &logs {
        assert_eq!(mode(log), 0o600, "{}", log.display());
    }
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(mode(&env.run_dir().join("control.sock")), 0o600);
    let qemu = env.qemu_pid().expect("qemu pid in status");
    let listening = listening_tcp_inodes();
    let qemu_sockets = socket_inodes_of(qemu);
    assert!(!qemu_sockets.is_empty(), "QEMU has its unix sockets");
    let open: Vec<_> = qemu_sockets
        .iter()
        .filter(|i| listening.contains(i))
        .collect();
    assert!(open.is_empty(), "QEMU listens on TCP: {open:?}");

    // --- the stock docker CLI through the context ---------------------------------------
    let version = run(
        &mut env.docker(&["version", "--format", "{{.Server.Version}}"]),
        "docker version",
    );
    assert!(version.trim().starts_with("26."), "{version}");

    let image = "berth-vm-test/busybox:1";
    import_tar(&env, &busybox_tar(&work, "busybox", 0), image);
    let out = run(
        &mut env.docker(&["run", "--rm", image, "echo", "hello-vm"]),
        "docker run --rm",
    );
    assert_eq!(out.trim(), "hello-vm");

    // --- memory a container used goes back to the host (the balloon's free page reporting), as
    // `berth status` reports QEMU's resident set --
    let before = host_memory_mib(&env);
    let filler = run(
        &mut env.docker(&[
            "run",
            "-d",
            "--shm-size",
            "600m",
            image,
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/shm/fill bs=1M count=512 && echo filled && exec sleep 600",
        ]),
        "docker run (512 MiB in /dev/shm)",
    );
    let filler = filler.trim().to_owned();
    wait_until(Duration::from_secs(120), "512 MiB written", || {
        run(&mut env.docker(&["logs", &filler]), "docker logs").contains("filled")
    })
    .unwrap();
    let peak = host_memory_mib(&env);
    run(&mut env.docker(&["rm", "-f", &filler]), "docker rm -f");
    let returned = Instant::now();
    let after = wait_until(
        Duration::from_secs(60),
        "QEMU's resident memory to fall by 400 MiB",
        || {
            let now = host_memory_mib(&env);
            (peak.saturating_sub(now) >= 400).then_some(now)
        },
    );
    eprintln!(
        "QEMU resident memory: {before} MiB before, {peak} MiB with 512 MiB touched in a \
         container, {} MiB {:.1?} after it exited",
        host_memory_mib(&env),
        returned.elapsed()
    );
    after.unwrap();

    // --- page cache a container left behind goes back too, once the guest is idle (the
    // agent's trim drops it, the balloon reports the pages) --
    run(
        &mut env.docker(&["volume", "create", "cachefill"]),
        "volume create",
    );
    run(
        &mut env.docker(&[
            "run",
            "--rm",
            "-v",
            "cachefill:/data",
            image,
            "sh",
            "-c",
            "dd if=/dev/zero of=/data/big bs=1M count=512 && sync && cat /data/big >/dev/null",
        ]),
        "docker run (a 512 MiB file written and read)",
    );
    let cached = host_memory_mib(&env);
    let exited = Instant::now();
    // Every `berth status` is work for the engine: asked four times a second (wait_until's
    // pace) the guest is never idle, and an idle guest is what the trim waits for.
    let after = wait_until(
        Duration::from_secs(120),
        "QEMU's resident memory to fall by 400 MiB once the page cache is dropped",
        || {
            std::thread::sleep(Duration::from_secs(5));
            let now = host_memory_mib(&env);
            (cached.saturating_sub(now) >= 400).then_some(now)
        },
    );
    eprintln!(
        "QEMU resident memory: {cached} MiB with a 512 MiB file in the page cache, {} MiB \
         {:.1?} after the container exited (the agent trims after 30 s idle)",
        host_memory_mib(&env),
        exited.elapsed()
    );
    after.unwrap();
    run(&mut env.docker(&["volume", "rm", "cachefill"]), "volume rm");

    // --- a published port answers on the host's loopback, and closes with the container --
    let port = berth_testkit::free_port();
    let web = vm_support::run_web(&env, image, port, "hello-port");
    let body = wait_until(
        Duration::from_secs(60),
        "the published port to answer",
        || tcp_get(port).ok().filter(|b| b.contains("hello-port")),
    )
    .unwrap();
    assert!(body.starts_with("HTTP/1."), "{body}");
    run(
        &mut env.docker(&["stop", "-t", "1", web.trim()]),
        "docker stop",
    );
    wait_until(Duration::from_secs(30), "the port to close", || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    })
    .unwrap();

    // run -d + logs -f
    let id = run(
        &mut env.docker(&[
            "run",
            "-d",
            image,
            "sh",
            "-c",
            "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done",
        ]),
        "docker run -d",
    );
    let id = id.trim().to_owned();
    let (_logs, logs) = spawn_lines(env.docker(&["logs", "-f", &id]));
    logs.wait_for(STREAM_DEADLINE, "logs -f", |l| l == "tick5");
    // An open `logs -f` is a use of the engine: it would keep Resource Saver from pausing.
    drop(_logs);

    // exec -it under script(1)
    let mut script = Command::new("script");
    let docker_config = env.docker_config();
    script
        .args([
            "-qec",
            &format!("docker --context berth exec -it {id} sh -c 'tty; echo exec-ok'"),
            "/dev/null",
        ])
        .env("DOCKER_CONFIG", &docker_config)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null());
    let out = run(&mut script, "docker exec -it");
    assert!(
        out.contains("/dev/pts/") && out.contains("exec-ok"),
        "{out:?}"
    );

    // cp in and out
    let src = work.join("in.txt");
    std::fs::write(&src, "copied into the VM\n").unwrap();
    run(
        &mut env.docker(&["cp", src.to_str().unwrap(), &format!("{id}:/tmp/in.txt")]),
        "docker cp in",
    );
    let out_dir = work.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    run(
        &mut env.docker(&[
            "cp",
            &format!("{id}:/tmp/in.txt"),
            out_dir.to_str().unwrap(),
        ]),
        "docker cp out",
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("in.txt")).unwrap(),
        "copied into the VM\n"
    );

    // attach
    run(
        &mut env.docker(&[
            "run",
            "-d",
            "-i",
            "--name",
            "echoer",
            image,
            "sh",
            "-c",
            "read line; echo got:$line",
        ]),
        "docker run -d -i",
    );
    let mut attach_cmd = env.docker(&["attach", "--sig-proxy=false", "echoer"]);
    attach_cmd.stdin(Stdio::piped());
    let (mut attach, attached) = spawn_lines(attach_cmd);
    let mut stdin = attach.stdin.take().unwrap();
    stdin.write_all(b"hello-attach\n").unwrap();
    attached.wait_for(STREAM_DEADLINE, "attach output", |l| {
        l == "got:hello-attach"
    });
    drop(stdin);
    assert!(attach.wait().unwrap().success());

    // build FROM scratch
    let ctx = work.join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY hello.txt /hello.txt\n",
    )
    .unwrap();
    std::fs::write(ctx.join("hello.txt"), "built in the VM\n").unwrap();
    let mut build = env.docker(&[
        "build",
        "-q",
        "-t",
        "berth-vm-test/built:1",
        ctx.to_str().unwrap(),
    ]);
    build.env("DOCKER_BUILDKIT", "0");
    run(&mut build, "docker build");

    // volume + data
    run(
        &mut env.docker(&["volume", "create", "keep"]),
        "volume create",
    );
    run(
        &mut env.docker(&[
            "run",
            "--rm",
            "-v",
            "keep:/data",
            image,
            "sh",
            "-c",
            "echo persisted > /data/f",
        ]),
        "write to volume",
    );

    // save | load of ~100 MB
    let payload = busybox_tar(&work, "payload", 100);
    let big = "berth-vm-test/payload:1";
    run(
        &mut env.docker(&["import", payload.to_str().unwrap(), big]),
        "import payload",
    );
    let id_before = run(
        &mut env.docker(&["image", "inspect", "--format", "{{.Id}}", big]),
        "inspect",
    );
    let archive = work.join("payload-image.tar");
    let began = Instant::now();
    run(
        &mut env.docker(&["save", "-o", archive.to_str().unwrap(), big]),
        "docker save",
    );
    let save_took = began.elapsed();
    let len = std::fs::metadata(&archive).unwrap().len();
    assert!(len > 100 << 20, "archive is {len} bytes");
    run(&mut env.docker(&["rmi", big]), "rmi payload");
    let began = Instant::now();
    run(
        &mut env.docker(&["load", "-i", archive.to_str().unwrap()]),
        "docker load",
    );
    let load_took = began.elapsed();
    eprintln!(
        "save {} MiB in {save_took:?}, load in {load_took:?}",
        len >> 20
    );
    let id_after = run(
        &mut env.docker(&["image", "inspect", "--format", "{{.Id}}", big]),
        "inspect",
    );
    assert_eq!(id_before, id_after);
    run(&mut env.docker(&["rm", "-f", &id, "echoer"]), "rm");

    // --- Resource Saver: pause when idle, wake on use -----------------------------------
    resource_saver::check(&env, image, tcp_get, host_memory_mib);

    // --- stop, start again: everything is still there (stopped while paused) ------------
    run(&mut env.berth(&["pause"]), "berth pause");
    assert_eq!(env.state(), "paused");
    run(&mut env.berth(&["stop"]), "berth stop");
    assert_eq!(env.state(), "stopped");
    assert!(!socket.exists(), "engine socket removed on stop");
    assert!(
        env.qemu_pid().is_none() && !Path::new(&format!("/proc/{qemu}")).exists(),
        "QEMU gone after stop"
    );
    // An install from before Berth was strict about modes is fixed up at the next start.
    let loosen = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    loosen(&home.join("data"), 0o755);
    loosen(&home.join("logs"), 0o755);
    loosen(&home.join("data/vm/data.qcow2"), 0o644);
    loosen(&home.join("logs/daemon.log"), 0o644);
    let (_, took) = env.start();
    eprintln!("second boot to engine ready: {took:?}");
    assert_eq!(mode(&home.join("data")), 0o700);
    assert_eq!(mode(&home.join("logs")), 0o700);
    assert_eq!(mode(&home.join("data/vm/data.qcow2")), 0o600);
    assert_eq!(mode(&home.join("logs/daemon.log")), 0o600);
    assert_eq!(
        mode(&home.join("logs/vm-console.log.1")),
        0o600,
        "the last boot's console"
    );
    let persisted = |what: &str| {
        for img in [image, "berth-vm-test/built:1", big] {
            run(&mut env.docker(&["image", "inspect", img]), what);
        }
        let out = run(
            &mut env.docker(&["run", "--rm", "-v", "keep:/data", image, "cat", "/data/f"]),
            what,
        );
        assert_eq!(out.trim(), "persisted", "{what}");
    };
    persisted("after stop/start");

    // --- kill -9 QEMU while paused: Error within 2 s, and start recovers ------------------
    run(&mut env.berth(&["pause"]), "berth pause");
    assert_eq!(env.state(), "paused");
    let qemu = env.qemu_pid().expect("qemu pid");
    let killed_at = Instant::now();
    run(
        Command::new("kill").args(["-9", &qemu.to_string()]),
        "kill -9 qemu",
    );
    let state = wait_until(Duration::from_secs(5), "error state", || {
        let status = env.status();
        let state = &status["daemon"]["state"];
        (state["state"] == "error").then(|| state.clone())
    })
    .unwrap();
    let noticed = killed_at.elapsed();
    eprintln!("QEMU kill noticed after {noticed:?}: {state}");
    assert!(noticed < Duration::from_secs(2), "took {noticed:?}");
    assert_eq!(state["code"], "vm_failed");
    assert!(
        state["message"].as_str().unwrap().contains("signal 9"),
        "{state}"
    );
    let (_, took) = env.start();
    eprintln!("boot after a crash to engine ready: {took:?}");
    persisted("after kill -9 and start");

    // --- 200 concurrent API requests ----------------------------------------------------
    let handles: Vec<_> = (0..200)
        .map(|i| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let path = if i % 2 == 0 {
                    "/_ping"
                } else {
                    "/containers/json?all=1"
                };
                http_get(&socket, path)
            })
        })
        .collect();
    let failed: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter_map(|r| match r {
            Ok(resp) if resp.starts_with("HTTP/1.1 200") => None,
            Ok(resp) => Some(resp.lines().next().unwrap_or("").to_owned()),
            Err(e) => Some(e.to_string()),
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 200 failed: {:?}",
        failed.len(),
        failed.first()
    );

    // --- logs --vm, then quit -----------------------------------------------------------
    let console = run(&mut env.berth(&["logs", "--vm"]), "berth logs --vm");
    assert!(!console.is_empty());
    let daemon = env.daemon_pid().expect("daemon pid");
    run(&mut env.berth(&["stop", "--quit"]), "berth stop --quit");
    wait_until(Duration::from_secs(10), "daemon exit", || {
        (!Path::new(&format!("/proc/{daemon}")).exists()).then_some(())
    })
    .unwrap();
}
