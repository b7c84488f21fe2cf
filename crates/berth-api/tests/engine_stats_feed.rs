//! Engine tier: the containers list's stats feed against a private dockerd. The window hears
//! from it once a second, about the containers it watches and no others; a watched container
//! that restarts is sampled again; a dropped feed says nothing more.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_api::stats_feed::StatsFeed;
use berth_engine::{Endpoint, Engine, StatsSample};
use berth_testkit::Dockerd;

type Batches = Arc<Mutex<Vec<Vec<StatsSample>>>>;

/// What the window's channel would carry: each batch, as JSON and back.
fn recording_channel() -> (impl Fn(Vec<StatsSample>) -> bool + Send + 'static, Batches) {
    let batches = Batches::default();
    let sink = batches.clone();
    let send = move |batch: Vec<StatsSample>| {
        let json = serde_json::to_string(&batch).expect("a batch serializes");
        let batch: Vec<StatsSample> = serde_json::from_str(&json).expect("a batch of samples");
        sink.lock().unwrap().push(batch);
        true
    };
    (send, batches)
}

/// The batches received during the next `secs` seconds.
async fn during(batches: &Batches, secs: f64) -> Vec<Vec<StatsSample>> {
    batches.lock().unwrap().clear();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    std::mem::take(&mut *batches.lock().unwrap())
}

fn ids(batches: &[Vec<StatsSample>]) -> Vec<String> {
    let mut ids: Vec<String> = batches.iter().flatten().map(|s| s.id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn docker(d: &Dockerd, args: &[&str]) -> String {
    let out = d.docker().args(args).output().expect("docker");
    assert!(out.status.success(), "docker {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_batch_a_second_for_the_watched_containers_only() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the busybox test image");
    let run = |name: &str| docker(&d, &["run", "-d", "--name", name, &image, "sleep", "600"]);
    let (a, b, c) = (run("feed-a"), run("feed-b"), run("feed-c"));
    let engine = Engine::connect(&Endpoint::Host(d.docker_host()))
        .await
        .expect("connect");
    let (channel, batches) = recording_channel();
    let feed = StatsFeed::open(channel);

    feed.watch(&engine, vec![a.clone(), b.clone()]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let heard = during(&batches, 5.0).await;
    // Two containers sampled every second for 5 s: per-sample delivery would be about ten
    // messages; the feed sends at most one a second.
    assert!(
        (3..=6).contains(&heard.len()),
        "one batch a second, got {} in 5 s: {heard:?}",
        heard.len()
    );
    assert_eq!(ids(&heard), sorted(&[&a, &b]), "c is not watched");
    assert!(
        heard.iter().any(|batch| batch.len() == 2),
        "a batch carries both containers: {heard:?}"
    );

    // Scrolling: b leaves the watched set, c joins it.
    feed.watch(&engine, vec![a.clone(), c.clone()]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(ids(&during(&batches, 3.0).await), sorted(&[&a, &c]));

    // A watched container that stops and starts again is sampled again.
    docker(&d, &["kill", "feed-a"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    docker(&d, &["start", "feed-a"]);
    let started = docker(&d, &["inspect", "-f", "{{.State.StartedAt}}", "feed-a"]);
    let mut resumed = false;
    for _ in 0..10 {
        resumed |= during(&batches, 1.0)
            .await
            .iter()
            .flatten()
            .any(|s| s.id == a && s.pids > 0 && s.read.as_str() > started.as_str());
        if resumed {
            break;
        }
    }
    assert!(resumed, "feed-a is sampled again after its restart");

    drop(feed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        during(&batches, 2.5).await.is_empty(),
        "a dropped feed sends nothing"
    );
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    ids.sort();
    ids
}
