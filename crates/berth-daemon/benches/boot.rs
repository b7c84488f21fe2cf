//! `cargo bench -p berth-daemon --bench boot`: boot-to-first-ping of Berth's VM engine under
//! this machine's accelerator, side by side with starting a native dockerd on the same host.
//!
//! Needs the guest image (`vm-image/build.sh`) and a release agent
//! (`cargo build --release -p berth-agent`, or `BERTH_AGENT_BIN`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_core::BerthPaths;
use berth_daemon::{Lifecycle, NativeVm};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if std::env::var_os("BERTH_AGENT_BIN").is_none() {
        let agent: PathBuf = root.join("target/release/berth-agent");
        assert!(
            agent.is_file(),
            "build the agent first: cargo build --release -p berth-agent"
        );
        std::env::set_var("BERTH_AGENT_BIN", agent);
    }
    let home = tempfile::Builder::new()
        .prefix("berth-bench-")
        .tempdir()
        .unwrap();
    let paths = BerthPaths::under(home.path());
    paths.ensure().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lifecycle = Lifecycle::new(paths, Arc::new(NativeVm));

    let mut boots = Vec::new();
    for label in ["VM boot, blank data disk", "VM boot, warm data disk"] {
        let began = Instant::now();
        let status = runtime
            .block_on(lifecycle.start())
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let took = began.elapsed();
        let hypervisor = status.vm.map(|vm| vm.hypervisor).unwrap_or_default();
        boots.push((format!("{label} ({hypervisor})"), took));
        runtime.block_on(lifecycle.stop()).unwrap();
    }

    let began = Instant::now();
    let dockerd = berth_testkit::Dockerd::start().expect("native dockerd");
    let native = began.elapsed();
    drop(dockerd);

    println!(
        "{:<48} {:>10} {:>8}",
        "boot to first engine ping", "time", "ratio"
    );
    for (label, took) in &boots {
        println!(
            "{label:<48} {:>10} {:>7.1}x",
            secs(*took),
            ratio(*took, native)
        );
    }
    println!(
        "{:<48} {:>10} {:>7.1}x",
        "native dockerd start (host)",
        secs(native),
        1.0
    );
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
