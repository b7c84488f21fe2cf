//! Engine tier: a two-service project ("web" waits for a healthy "db") on a real dockerd.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use berth_compose::plan::{labels, Action};
use berth_compose::{
    load, Compose, DownOptions, Event, LoadOptions, Project, ResourceState, UpRun,
};
use berth_engine::{Endpoint, Engine};
use berth_testkit::{run, Dockerd};

/// The db serves an index page once "ready"; its healthcheck waits for the ready file.
fn compose_file(image: &str, greeting: &str) -> String {
    format!(
        r#"
services:
  db:
    image: {image}
    command: ["sh", "-c", "mkdir -p /www && echo db-says-hi > /www/index.html && sleep 1 && touch /tmp/ready && exec httpd -f -p 80 -h /www"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 100
    volumes: ["dbdata:/data"]
  web:
    image: {image}
    command: ["sleep", "3600"]
    environment:
      GREETING: {greeting}
    depends_on:
      db:
        condition: service_healthy
volumes:
  dbdata: {{}}
"#
    )
}

fn write_project(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

fn load_project(file: &Path, name: &str) -> Project {
    load(&LoadOptions {
        files: vec![file.to_path_buf()],
        project_name: Some(name.into()),
        working_dir: file.parent().unwrap().to_path_buf(),
        ..Default::default()
    })
    .unwrap()
}

fn docker(d: &Dockerd, args: &[&str]) -> String {
    run(d.docker().args(args)).unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

fn ids(d: &Dockerd, filter: &str, kind: &str) -> Vec<String> {
    let out = match kind {
        "container" => docker(d, &["ps", "-aq", "--filter", filter]),
        "network" => docker(d, &["network", "ls", "-q", "--filter", filter]),
        _ => docker(d, &["volume", "ls", "-q", "--filter", filter]),
    };
    out.lines().map(str::to_string).collect()
}

/// Seconds since midnight of a timestamp of the same day (enough to order events), RFC 3339
/// (`2026-01-02T03:04:05.6Z`) or Go's default format (`2026-01-02 03:04:05.6 +0000 UTC`).
fn secs(ts: &str) -> f64 {
    let time = ts
        .split(['T', ' '])
        .nth(1)
        .unwrap_or_else(|| panic!("a timestamp: {ts:?}"))
        .trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next().unwrap().parse().unwrap();
    let m: f64 = parts.next().unwrap().parse().unwrap();
    let s: f64 = parts.next().unwrap().parse().unwrap();
    h * 3600.0 + m * 60.0 + s
}

async fn connect(d: &Dockerd) -> (Compose, Arc<Mutex<Vec<Event>>>) {
    let engine = Engine::connect(&Endpoint::Host(d.docker_host()))
        .await
        .unwrap();
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = events.clone();
    let compose =
        Compose::new(engine).with_progress(Arc::new(move |e| sink.lock().unwrap().push(e)));
    (compose, events)
}

fn container_id(d: &Dockerd, name: &str) -> String {
    docker(d, &["inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_string()
}

#[test]
fn engine_compose_two_services_up_idempotent_recreate_down() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    let dir = d.root().join("shop");
    let file = write_project(&dir, &compose_file(&image, "hello"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (compose, events) = connect(&d).await;
        let project = load_project(&file, "shop");

        // 1. up: both come up, web only after db is healthy.
        let plan = compose.up(&project, &UpRun::default()).await.unwrap();
        assert_eq!(plan.steps.len(), 2);
        let ps = compose.ps("shop", false).await.unwrap();
        let names: Vec<&str> = ps.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["shop-db-1", "shop-web-1"], "{ps:?}");
        let healthy_at = docker(
            &d,
            &[
                "inspect",
                "-f",
                "{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.End}} {{end}}{{end}}",
                "shop-db-1",
            ],
        );
        let first_healthy = secs(healthy_at.split(" UTC").next().expect("a passing check"));
        let web_started = secs(docker(&d, &["inspect", "-f", "{{.State.StartedAt}}", "shop-web-1"]).trim());
        assert!(
            web_started >= first_healthy,
            "web started at {web_started} before db was healthy at {first_healthy}"
        );
        {
            let ev = events.lock().unwrap();
            let pos = |name: &str, status: ResourceState| {
                ev.iter().position(|e| {
                    matches!(e, Event::Container { name: n, status: s, .. } if n == name && *s == status)
                })
            };
            assert!(pos("shop-db-1", ResourceState::Healthy).unwrap() < pos("shop-web-1", ResourceState::Started).unwrap());
        }

        // Labels as compose v2 writes them.
        let label = |key: &str| {
            docker(&d, &["inspect", "-f", &format!("{{{{index .Config.Labels \"{key}\"}}}}"), "shop-web-1"])
                .trim()
                .to_string()
        };
        assert_eq!(label(labels::PROJECT), "shop");
        assert_eq!(label(labels::SERVICE), "web");
        assert_eq!(label(labels::NUMBER), "1");
        assert_eq!(label(labels::ONEOFF), "False");
        assert_eq!(label(labels::CONFIG_HASH), project.services["web"].config_hash());
        assert_eq!(label(labels::WORKING_DIR), dir.display().to_string());
        assert_eq!(label(labels::CONFIG_FILES), file.display().to_string());
        assert_eq!(label(labels::DEPENDS_ON), "db:service_healthy:false");
        let image = project.services["web"].image_name("shop");
        let image_id = docker(&d, &["image", "inspect", "-f", "{{.Id}}", &image]);
        assert_eq!(label(labels::IMAGE), image_id.trim(), "compose v2 compares this with the image id");
        assert!(!ids(&d, "name=shop_default", "network").is_empty());
        assert!(!ids(&d, "name=shop_dbdata", "volume").is_empty());

        // web reaches db by its service name.
        let page = docker(&d, &["exec", "shop-web-1", "timeout", "10", "wget", "-qO-", "http://db/"]);
        assert_eq!(page.trim(), "db-says-hi");

        // 2. up again: nothing changes.
        let (db_id, web_id) = (container_id(&d, "shop-db-1"), container_id(&d, "shop-web-1"));
        let plan = compose.up(&project, &UpRun::default()).await.unwrap();
        assert!(plan.is_noop(), "{plan:?}");
        assert_eq!(container_id(&d, "shop-db-1"), db_id);
        assert_eq!(container_id(&d, "shop-web-1"), web_id);

        // 3. a new environment for web recreates web only.
        write_project(&dir, &compose_file(&image, "bonjour"));
        let project = load_project(&file, "shop");
        let plan = compose.up(&project, &UpRun::default()).await.unwrap();
        assert!(matches!(plan.steps[0].1[..], [Action::Keep { .. }]), "{plan:?}");
        assert!(matches!(plan.steps[1].1[..], [Action::Recreate { .. }]), "{plan:?}");
        assert_eq!(container_id(&d, "shop-db-1"), db_id);
        assert_ne!(container_id(&d, "shop-web-1"), web_id);
        let env = docker(&d, &["exec", "shop-web-1", "sh", "-c", "echo $GREETING"]);
        assert_eq!(env.trim(), "bonjour");

        // 4. down -v leaves nothing behind.
        let opts = DownOptions { volumes: true, ..Default::default() };
        compose.down("shop", Some(&project), &opts).await.unwrap();
        let filter = format!("label={}=shop", labels::PROJECT);
        assert!(ids(&d, &filter, "container").is_empty());
        assert!(ids(&d, &filter, "network").is_empty());
        assert!(ids(&d, &filter, "volume").is_empty());
        assert!(ids(&d, "name=shop_dbdata", "volume").is_empty());
    });
}

#[test]
fn engine_compose_depends_on_completed_and_scale_and_run() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    let dir = d.root().join("jobs");
    let file = write_project(
        &dir,
        &format!(
            r#"
services:
  migrate:
    image: {image}
    command: ["sh", "-c", "sleep 0.5; echo migrated"]
  worker:
    image: {image}
    command: ["sleep", "3600"]
    scale: 2
    depends_on:
      migrate: {{condition: service_completed_successfully}}
"#
        ),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (compose, _) = connect(&d).await;
        let project = load_project(&file, "jobs");
        compose.up(&project, &UpRun::default()).await.unwrap();
        let ps = compose.ps("jobs", true).await.unwrap();
        let states: Vec<(String, String)> = ps
            .iter()
            .map(|c| (c.name.clone(), c.state.clone()))
            .collect();
        assert_eq!(
            states,
            [
                ("jobs-migrate-1".to_string(), "exited".to_string()),
                ("jobs-worker-1".to_string(), "running".to_string()),
                ("jobs-worker-2".to_string(), "running".to_string()),
            ]
        );
        let mut out = Vec::new();
        let code = compose
            .run(
                &project,
                "worker",
                Some(vec![
                    "sh".into(),
                    "-c".into(),
                    "echo one-off; exit 3".into(),
                ]),
                true,
                &mut out,
            )
            .await
            .unwrap();
        assert_eq!(code, 3);
        assert_eq!(String::from_utf8_lossy(&out).trim(), "one-off");
        let mut out = Vec::new();
        let code = compose
            .exec(
                "jobs",
                "worker",
                2,
                vec!["sh".into(), "-c".into(), "echo in-two".into()],
                &mut out,
            )
            .await
            .unwrap();
        assert_eq!(
            (code, String::from_utf8_lossy(&out).trim().to_string()),
            (0, "in-two".to_string())
        );
        // run --rm left no one-off container behind.
        assert_eq!(compose.ps("jobs", true).await.unwrap().len(), 3);
        compose
            .down("jobs", Some(&project), &DownOptions::default())
            .await
            .unwrap();
        assert!(compose.ps("jobs", true).await.unwrap().is_empty());
    });
}

#[test]
fn engine_compose_build_up_and_down_rmi_local() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    let dir = d.root().join("baked");
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("app/Dockerfile"),
        format!("FROM {image}\nARG FLAVOUR=plain\nRUN echo \"built-$FLAVOUR\" > /built\nCMD [\"sleep\", \"3600\"]\n"),
    )
    .unwrap();
    let file = write_project(
        &dir,
        "services:\n  app:\n    build:\n      context: ./app\n      args: {FLAVOUR: spicy}\n",
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (compose, events) = connect(&d).await;
        let project = load_project(&file, "baked");
        compose.up(&project, &UpRun::default()).await.unwrap();
        assert!(events.lock().unwrap().iter().any(
            |e| matches!(e, Event::Image { name, status: ResourceState::Built } if name == "baked-app")
        ));
        let built = docker(&d, &["exec", "baked-app-1", "cat", "/built"]);
        assert_eq!(built.trim(), "built-spicy");
        let opts = DownOptions {
            rmi: Some(berth_compose::Rmi::Local),
            ..Default::default()
        };
        compose.down("baked", Some(&project), &opts).await.unwrap();
    });
    let images = docker(&d, &["images", "-q", "baked-app"]);
    assert!(images.trim().is_empty(), "image left: {images}");
}
