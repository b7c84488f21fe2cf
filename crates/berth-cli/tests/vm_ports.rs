//! Tier 3: published ports through the real VM. A container's `-p <port>:80` answers
//! `GET /` on the host's loopback and closes with the container; two containers publish at
//! once; a UDP echo answers through a published UDP port; a host port already taken shows up
//! as a typed warning in `berth status --json` (and as a line in `berth status`) and goes away
//! with its container.
//!
//! Needs: the guest image (`vm-image/build.sh`, cached), qemu, the docker CLI, busybox-static,
//! and `cc` with a static libc (the UDP echo server: busybox's `nc` has no `-u`). A missing
//! one fails the test.
// The VM tier boots the Linux QEMU backend.
#![cfg(target_os = "linux")]

mod vm_support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_testkit::{build_udp_echo, free_port, udp_ask, wait_until, ChildGuard};
use vm_support::{busybox_root, import_tar, run, tar_dir, Env, BOOT_DEADLINE};

const PORT_DEADLINE: Duration = Duration::from_secs(60);

impl Env {
    fn start(&self) {
        self.booted(self.berth(&["start"]), "berth start");
    }
}

/// A rootfs tar: busybox-static with its applets, plus the UDP echo server as /bin/udp-echo.
fn test_image_tar(dir: &Path) -> PathBuf {
    let root = busybox_root(dir, "image");
    build_udp_echo(dir, &root.join("bin/udp-echo")).expect("cc -static udp-echo.c");
    let tar = dir.join("image.tar");
    tar_dir(&root, &tar);
    tar
}

/// `GET /` on the host's loopback `port`, the whole answer.
fn http_get(port: u16) -> std::io::Result<String> {
    berth_testkit::http_get(port, "/", Duration::from_secs(20))
        .map(|a| String::from_utf8_lossy(&a).into_owned())
}

fn run_web(env: &Env, name: &str, port: u16, text: &str) {
    let script =
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www");
    run(
        &mut env.docker(&[
            "run",
            "-d",
            "--name",
            name,
            "-p",
            &format!("{port}:80"),
            "berth-test/ports",
            "sh",
            "-c",
            &script,
        ]),
        "docker run -p",
    );
}

/// The port warnings `berth status --json` shows now.
fn port_warnings(env: &Env) -> Vec<serde_json::Value> {
    env.status()["daemon"]["portWarnings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// 64-byte request/response round trips on one kept connection to an echo server.
fn echo_round_trips(port: u16, count: usize) -> Vec<Duration> {
    let mut s = wait_until(PORT_DEADLINE, "the echo server", || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_nodelay(true).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        let mut buf = [1u8; 64];
        s.write_all(&buf).ok()?;
        s.read_exact(&mut buf).ok()?;
        Some(s)
    })
    .unwrap();
    let mut buf = [7u8; 64];
    (0..count)
        .map(|_| {
            let t = Instant::now();
            s.write_all(&buf).unwrap();
            s.read_exact(&mut buf).unwrap();
            t.elapsed()
        })
        .collect()
}

/// MiB/s of `GET /big` from an httpd on `port`, checked by length.
fn download_rate(port: u16, mib: u64) -> f64 {
    let t = Instant::now();
    let body = http_get_bytes(port, "/big");
    assert!(body.len() as u64 > mib << 20, "got {} bytes", body.len());
    mib as f64 / t.elapsed().as_secs_f64()
}

fn http_get_bytes(port: u16, path: &str) -> Vec<u8> {
    berth_testkit::http_get(port, path, Duration::from_secs(120)).unwrap()
}

fn p50_us(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

/// Prints, side by side, the same busybox servers reached directly on the host's loopback and
/// through a published port of the VM: echo round-trip p50 and HTTP download throughput.
fn measure_against_loopback(env: &Env, work: &Path, web_port: u16) {
    const MIB: u64 = 32;
    const ROUND_TRIPS: usize = 300;
    // Direct: busybox on the host.
    let www = work.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("big"), vec![0x5a; (MIB << 20) as usize]).unwrap();
    let (http_port, echo_port) = (free_port(), free_port());
    let _httpd = ChildGuard::new(
        Command::new("/bin/busybox")
            .args(["httpd", "-f", "-p", &format!("127.0.0.1:{http_port}"), "-h"])
            .arg(&www)
            .spawn()
            .expect("busybox httpd"),
    );
    let _echo = ChildGuard::new(
        Command::new("/bin/busybox")
            .args(["nc", "-ll", "-p", &echo_port.to_string(), "-e", "cat"])
            .spawn()
            .expect("busybox nc"),
    );
    wait_until(PORT_DEADLINE, "the host httpd", || {
        TcpStream::connect(("127.0.0.1", http_port)).ok()
    })
    .unwrap();
    let direct = (
        p50_us(echo_round_trips(echo_port, ROUND_TRIPS)),
        download_rate(http_port, MIB),
    );

    // Through the VM: the same programs in containers behind published ports.
    let vm_echo = free_port();
    run(
        &mut env.docker(&[
            "run",
            "-d",
            "--name",
            "echo",
            "-p",
            &format!("{vm_echo}:81"),
            "berth-test/ports",
            "nc",
            "-ll",
            "-p",
            "81",
            "-e",
            "cat",
        ]),
        "docker run echo",
    );
    run(
        &mut env.docker(&[
            "exec",
            "web-b",
            "dd",
            "if=/dev/zero",
            "of=/www/big",
            "bs=1M",
            &format!("count={MIB}"),
        ]),
        "docker exec dd",
    );
    let vm = (
        p50_us(echo_round_trips(vm_echo, ROUND_TRIPS)),
        download_rate(web_port, MIB),
    );
    eprintln!("published port vs direct loopback (same busybox servers):");
    eprintln!(
        "{:<8} {:>14} {:>16}",
        "way", "echo p50 (µs)", "download (MiB/s)"
    );
    eprintln!("{:<8} {:>14.0} {:>16.1}", "direct", direct.0, direct.1);
    eprintln!("{:<8} {:>14.0} {:>16.1}", "vm", vm.0, vm.1);
    eprintln!(
        "ratio vm/direct: echo p50 {:.1}x, download {:.2}x",
        vm.0 / direct.0,
        vm.1 / direct.1
    );
}

#[test]
fn vm_published_ports() {
    let env = Env::new("berth-vm-ports-");
    let work = env.home.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let tar = test_image_tar(&work);

    let began = Instant::now();
    env.start();
    eprintln!("boot to engine ready: {:?}", began.elapsed());
    assert!(began.elapsed() < BOOT_DEADLINE);
    import_tar(&env, &tar, "berth-test/ports");

    // --- two containers publish TCP ports at once; each answers on the host -------------
    let (a, b) = (free_port(), free_port());
    run_web(&env, "web-a", a, "hello-a");
    run_web(&env, "web-b", b, "hello-b");
    for (port, text) in [(a, "hello-a"), (b, "hello-b")] {
        let body = wait_until(PORT_DEADLINE, "a published port to answer", || {
            http_get(port).ok().filter(|r| r.contains(text))
        })
        .unwrap();
        assert!(body.starts_with("HTTP/1."), "{body}");
    }

    // --- stopping one closes its port; the other still answers --------------------------
    run(
        &mut env.docker(&["stop", "-t", "1", "web-a"]),
        "docker stop",
    );
    wait_until(PORT_DEADLINE, "port a to close", || {
        TcpStream::connect(("127.0.0.1", a)).is_err().then_some(())
    })
    .unwrap();
    assert!(http_get(b).unwrap().contains("hello-b"), "b still answers");

    // --- UDP: an echo through a published UDP port --------------------------------------
    let u = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    run(
        &mut env.docker(&[
            "run",
            "-d",
            "--name",
            "udp-echo",
            "-p",
            &format!("{u}:7/udp"),
            "berth-test/ports",
            "udp-echo",
            "7",
        ]),
        "docker run -p .../udp",
    );
    let hello = udp_ask(u, "hello over udp", PORT_DEADLINE).unwrap();
    assert_eq!(hello, "udp-echo:hello over udp");
    let again = udp_ask(u, "and again", PORT_DEADLINE).unwrap();
    assert_eq!(again, "udp-echo:and again");
    run(&mut env.docker(&["rm", "-f", "udp-echo"]), "docker rm");
    wait_until(PORT_DEADLINE, "the UDP port to be free", || {
        UdpSocket::bind(("127.0.0.1", u)).ok().map(drop)
    })
    .unwrap();

    // --- a host port already taken: a typed warning in the status, gone with the container
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let t = taken.local_addr().unwrap().port();
    run_web(&env, "web-taken", t, "hello-taken");
    let warning = wait_until(PORT_DEADLINE, "the taken port's warning", || {
        port_warnings(&env).into_iter().find(|w| w["hostPort"] == t)
    })
    .unwrap();
    assert_eq!(warning["inUse"], true, "{warning}");
    assert_eq!(warning["protocol"], "tcp", "{warning}");
    let id = run(
        &mut env.docker(&["inspect", "-f", "{{.Id}}", "web-taken"]),
        "docker inspect",
    );
    assert_eq!(warning["container"], id.trim(), "{warning}");
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("already in use")),
        "{warning}"
    );
    let text = run(&mut env.berth(&["status"]), "berth status");
    assert!(
        text.lines()
            .any(|l| l.contains("Port warning") && l.contains(&t.to_string())),
        "{text}"
    );
    run(&mut env.docker(&["rm", "-f", "web-taken"]), "docker rm");
    wait_until(PORT_DEADLINE, "the warning to go away", || {
        port_warnings(&env).is_empty().then_some(())
    })
    .unwrap();
    drop(taken);

    measure_against_loopback(&env, &work, b);

    run(&mut env.berth(&["stop"]), "berth stop");
    assert!(
        TcpStream::connect(("127.0.0.1", b)).is_err(),
        "stopping the engine closes every published port"
    );
}
