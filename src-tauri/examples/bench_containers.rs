//! Bench: the containers view with 1,000 containers on a private dockerd.
//! `cargo run -p berth-app --example bench_containers` (needs Xvfb, tauri-driver, imagemagick).
//! Prints time to first row and to the settled list (all 1,000 counted), from window start, and
//! from `docker start` of one container to its row showing it running.

#[path = "../tests/ui_support/mod.rs"]
mod ui_support;

use std::process::{Command, Stdio};
use std::time::Instant;

use berth_testkit::Dockerd;
use ui_support::{App, Display, Driver};

const N: usize = 1000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let d = Dockerd::start().expect("dockerd");
    let image = d.test_image().expect("test image");
    let created = Instant::now();
    // `docker create` in 8 parallel lanes (xargs), names bench-0000..bench-0999.
    let mut xargs = Command::new("xargs");
    xargs
        .args([
            "-P",
            "8",
            "-I{}",
            "docker",
            "-H",
            &d.docker_host(),
            "create",
            "--name",
            "bench-{}",
            &image,
            "sleep",
            "600",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = xargs.spawn().expect("xargs");
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().expect("stdin");
        for i in 0..N {
            writeln!(stdin, "{i:04}").expect("write");
        }
    }
    drop(child.stdin.take());
    assert!(child.wait().expect("xargs").success());
    eprintln!(
        "created {N} containers in {:.1} s",
        created.elapsed().as_secs_f64()
    );

    let home = std::env::temp_dir().join(format!("berth-bench-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("home");
    let display = Display::start();
    let driver = Driver::start(
        &display,
        &[
            ("DOCKER_HOST", &d.docker_host()),
            ("BERTH_HOME", home.to_str().unwrap()),
        ],
    );
    let started = Instant::now();
    let app = App::launch(&driver, &display).await;
    let session = started.elapsed();
    app.wait_for("[data-testid=container-row]").await;
    let first = started.elapsed();
    app.wait_text(".page-head .count", "all containers counted", |t| {
        t.contains(&format!("{N} total"))
    })
    .await;
    let settled = started.elapsed();
    let rendered = app
        .client
        .find_all(fantoccini::Locator::Css("[data-testid=container-row]"))
        .await
        .expect("rows")
        .len();
    app.shot("bench-1000-containers").await;
    // `docker start` of the first row's container -> that row shows it running: the event's
    // path through the app (one container fetched, or the whole list before).
    let row = "[data-testid=container-row][data-name='bench-0000']";
    let start = Instant::now();
    let out = Command::new("docker")
        .args(["-H", &d.docker_host(), "start", "bench-0000"])
        .output()
        .expect("docker start");
    assert!(out.status.success(), "docker start: {out:?}");
    app.wait_for(&format!("{row}[data-state=running]")).await;
    let start_to_row = start.elapsed();
    println!(
        "bench: 1,000 containers: window+session {} ms, first row {} ms, settled {} ms, rows in DOM {rendered}, docker start -> row running {} ms",
        session.as_millis(),
        first.as_millis(),
        settled.as_millis(),
        start_to_row.as_millis()
    );
    app.client.close().await.ok();
    drop(driver);
    drop(display);
    std::fs::remove_dir_all(&home).ok();
}
