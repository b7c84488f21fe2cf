//! Tier 2: `Berth::prune` against a real dockerd: stopped containers, unused networks and
//! dangling images go; volumes only when asked; running containers and used images stay.

use berth_api::Berth;
use berth_core::BerthPaths;
use berth_testkit::{run, Dockerd};

#[tokio::test(flavor = "multi_thread")]
async fn prune_removes_what_is_unused_and_reports_it() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the test image");
    let home = tempfile::tempdir().unwrap();
    let mut berth = Berth::open_at(BerthPaths::under(home.path())).unwrap();
    berth
        .set_setting("engine.endpoint", &d.docker_host())
        .unwrap();

    let stopped = run(d.docker().args(["create", &image, "true"])).unwrap();
    let running = run(d.docker().args(["run", "-d", &image, "sleep", "600"])).unwrap();
    run(d.docker().args(["network", "create", "unused-net"])).unwrap();
    run(d.docker().args(["volume", "create", "unused-vol"])).unwrap();
    // A dangling image: a build whose tag moves to a newer build.
    let ctx = home.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    for n in ["1", "2"] {
        std::fs::write(ctx.join("Dockerfile"), format!("FROM {image}\nENV N={n}\n")).unwrap();
        run(d
            .docker()
            .args(["build", "-q", "-t", "prune-test:x", ctx.to_str().unwrap()]))
        .unwrap();
    }

    let summary = berth.prune(false).await.unwrap();
    assert_eq!(summary.containers.deleted, 1, "{summary:?}");
    assert!(summary.networks.deleted >= 1, "{summary:?}");
    assert!(
        summary.images.deleted >= 1,
        "the dangling build: {summary:?}"
    );
    assert_eq!(summary.volumes, None);
    let ps = run(d.docker().args(["ps", "-aq", "--no-trunc"])).unwrap();
    assert!(ps.contains(running.trim()), "the running container stays");
    assert!(!ps.contains(stopped.trim()), "the stopped one is gone");
    let volumes = run(d.docker().args(["volume", "ls", "-q"])).unwrap();
    assert!(
        volumes.contains("unused-vol"),
        "volumes kept without the flag"
    );
    run(d.docker().args(["image", "inspect", &image])).expect("a used image stays");

    let summary = berth.prune(true).await.unwrap();
    assert_eq!(summary.containers.deleted, 0);
    assert!(summary.volumes.is_some_and(|v| v.deleted == 1));
    let volumes = run(d.docker().args(["volume", "ls", "-q"])).unwrap();
    assert!(!volumes.contains("unused-vol"), "{volumes}");
}
