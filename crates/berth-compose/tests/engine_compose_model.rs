//! Engine tier: the compose model on a real dockerd — a project split with `include` up and
//! down, `volumes_from` sharing a volume, and newly applied keys (`dns_search`, `dns_opt`,
//! `pids_limit`, `cpu_shares`, `oom_score_adj`, `mem_reservation`, restart `max_attempts`,
//! `links` aliases) as `docker inspect` shows them; secrets and configs copied in with their
//! owner and mode; `post_start` and `pre_stop` hooks; a swarm-only key refused before
//! anything is created; a build's `network`, `shm_size` and `tags`.

use std::path::Path;

use berth_compose::{load, Compose, DownOptions, LoadOptions, UpRun};
use berth_engine::{Endpoint, Engine};
use berth_testkit::{run, Dockerd};

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn docker(d: &Dockerd, args: &[&str]) -> String {
    run(d.docker().args(args)).unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

fn inspect(d: &Dockerd, name: &str, format: &str) -> String {
    docker(d, &["inspect", "-f", format, name])
        .trim()
        .to_string()
}

const ROOT: &str = r#"
name: split
include:
  - path: lib/compose.yaml
    env_file: lib/settings.env
services:
  app:
    image: ${IMAGE}
    command: ["sleep", "3600"]
    depends_on:
      store: {condition: service_healthy}
    volumes_from: ["store:ro"]
    volumes:
      - {type: volume, target: /cache, volume: {labels: {dev.berth.test: anon}}}
    links: ["store:vault"]
    dns_search: [example.org]
    dns_opt: ["ndots:2"]
    pids_limit: 64
    cpu_shares: 512
    oom_score_adj: 300
    mem_reservation: 16m
    deploy:
      restart_policy: {condition: on-failure, max_attempts: 3}
    secrets:
      - {source: token, uid: "1000", mode: 0400}
    configs:
      - {source: motd, target: /etc/motd}
    networks: [default, back]
networks:
  back:
    ipam:
      config:
        - {subnet: 10.219.7.0/24, ip_range: 10.219.7.128/25, gateway: 10.219.7.254}
secrets:
  token: {environment: TOKEN}
configs:
  motd: {content: "hello from content"}
"#;

/// The included application: its `.env`-style file names the greeting, its relative bind
/// source resolves against `lib/`.
const LIB: &str = r#"
services:
  store:
    image: ${IMAGE}
    command: ["sh", "-c", "echo $$GREETING > /data/hello && exec sleep 3600"]
    environment: {GREETING: "${GREETING}"}
    volumes: ["shared:/data", "./conf:/conf:ro"]
    post_start:
      - command: ["sh", "-c", "echo started > /data/started"]
    pre_stop:
      - command: ["sh", "-c", "echo bye-$$WHO > /data/bye"]
        environment: {WHO: store}
    healthcheck:
      test: ["CMD", "test", "-f", "/data/hello"]
      interval: 200ms
      retries: 100
volumes:
  shared: {}
"#;

#[test]
fn engine_compose_include_volumes_from_and_applied_keys() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    let dir = d.root().join("split");
    write(&dir, "compose.yaml", ROOT);
    write(&dir, "lib/compose.yaml", LIB);
    write(&dir, "lib/settings.env", "GREETING=from-the-include\n");
    write(&dir, "lib/conf/app.conf", "x=1\n");
    let opts = LoadOptions {
        files: vec![dir.join("compose.yaml")],
        working_dir: dir.clone(),
        environment: [
            ("IMAGE".to_string(), image.clone()),
            ("TOKEN".to_string(), "s3cret".to_string()),
        ]
        .into(),
        ..Default::default()
    };
    let project = load(&opts).unwrap();
    assert_eq!(project.volumes["shared"].name, "split_shared");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = Engine::connect(&Endpoint::Host(d.docker_host()))
            .await
            .unwrap();
        let compose = Compose::new(engine);
        compose.up(&project, &UpRun::default()).await.unwrap();

        // The included service runs with its own env file and its bind resolved in lib/.
        let binds = inspect(&d, "split-store-1", "{{json .HostConfig.Binds}}");
        let conf = dir.join("lib/conf").display().to_string();
        assert!(binds.contains(&format!("{conf}:/conf:ro")), "{binds}");
        // volumes_from: app reads what store wrote into its volume, read-only.
        assert_eq!(
            inspect(&d, "split-app-1", "{{json .HostConfig.VolumesFrom}}"),
            r#"["split-store-1:ro"]"#
        );
        assert_eq!(
            docker(&d, &["exec", "split-app-1", "cat", "/data/hello"]).trim(),
            "from-the-include"
        );
        let denied = d
            .docker()
            .args(["exec", "split-app-1", "touch", "/data/nope"])
            .output()
            .unwrap();
        assert!(!denied.status.success(), "the volume is mounted read-only");
        // The network's IPAM as written, and the address app got from its range.
        let ipam = docker(&d, &["network", "inspect", "-f", "{{json .IPAM.Config}}", "split_back"]);
        assert!(
            ipam.contains(r#""IPRange":"10.219.7.128/25""#) && ipam.contains(r#""Gateway":"10.219.7.254""#),
            "{ipam}"
        );
        let addr = inspect(&d, "split-app-1", "{{(index .NetworkSettings.Networks \"split_back\").IPAddress}}");
        let last: u8 = addr.rsplit('.').next().unwrap().parse().unwrap();
        assert!(addr.starts_with("10.219.7.") && last >= 128, "{addr}");
        // An anonymous volume made by a mount carries the mount's labels.
        let labelled = docker(&d, &["volume", "ls", "-q", "--filter", "label=dev.berth.test=anon"]);
        assert_eq!(labelled.lines().count(), 1, "{labelled}");
        // A secret from the environment with an owner and mode, a config from inline content.
        let token = docker(&d, &["exec", "split-app-1", "stat", "-c", "%u %a", "/run/secrets/token"]);
        assert_eq!(token.trim(), "1000 400");
        assert_eq!(
            docker(&d, &["exec", "split-app-1", "cat", "/run/secrets/token"]),
            "s3cret"
        );
        assert_eq!(
            docker(&d, &["exec", "split-app-1", "cat", "/etc/motd"]),
            "hello from content"
        );
        // The newly applied keys, as the engine keeps them.
        let hc = |f: &str| inspect(&d, "split-app-1", &format!("{{{{json .HostConfig.{f}}}}}"));
        assert_eq!(hc("DnsSearch"), r#"["example.org"]"#);
        assert_eq!(hc("DnsOptions"), r#"["ndots:2"]"#);
        assert_eq!(hc("PidsLimit"), "64");
        assert_eq!(hc("CpuShares"), "512");
        assert_eq!(hc("OomScoreAdj"), "300");
        assert_eq!(hc("MemoryReservation"), (16 * 1024 * 1024).to_string());
        assert_eq!(
            hc("RestartPolicy"),
            r#"{"Name":"on-failure","MaximumRetryCount":3}"#
        );
        let resolv = docker(&d, &["exec", "split-app-1", "cat", "/etc/resolv.conf"]);
        assert!(resolv.contains("search example.org"), "{resolv}");
        assert!(resolv.contains("ndots:2"), "{resolv}");
        // The link alias resolves to the store (fully qualified: the search domain above
        // would send a bare name out of this network-less host first).
        let store_ip = inspect(
            &d,
            "split-store-1",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        );
        let looked_up = docker(&d, &["exec", "split-app-1", "nslookup", "vault."]);
        assert!(looked_up.contains(&store_ip), "{looked_up} vs {store_ip}");

        // Hooks: post_start ran once store started; pre_stop runs when it is stopped.
        assert_eq!(
            docker(&d, &["exec", "split-app-1", "cat", "/data/started"]).trim(),
            "started"
        );
        compose
            .stop("split", &["store".to_string()], None)
            .await
            .unwrap();
        assert_eq!(
            docker(&d, &["exec", "split-app-1", "cat", "/data/bye"]).trim(),
            "bye-store"
        );

        // down -v removes what the include contributed too.
        let down = DownOptions {
            volumes: true,
            ..Default::default()
        };
        compose.down("split", Some(&project), &down).await.unwrap();
        let left = docker(
            &d,
            &["ps", "-aq", "--filter", "label=com.docker.compose.project=split"],
        );
        assert!(left.trim().is_empty(), "containers left: {left}");
        let volumes = docker(&d, &["volume", "ls", "-q"]);
        assert!(!volumes.contains("split_shared"), "{volumes}");
        let anonymous = docker(&d, &["volume", "ls", "-q", "--filter", "label=dev.berth.test=anon"]);
        assert!(anonymous.trim().is_empty(), "down -v leaves anonymous volumes: {anonymous}");
        let networks = docker(&d, &["network", "ls", "--format", "{{.Name}}"]);
        assert!(!networks.contains("split_default"), "{networks}");

        // A swarm-only setting is refused, with its file and line, before anything is made.
        write(
            &dir,
            "swarm.yaml",
            &format!(
                "name: swarmy\nservices:\n  web:\n    image: {image}\n    deploy:\n      placement: {{constraints: [node.role==manager]}}\n"
            ),
        );
        let swarmy = load(&LoadOptions {
            files: vec![dir.join("swarm.yaml")],
            working_dir: dir.clone(),
            ..Default::default()
        })
        .unwrap();
        let e = compose
            .up(&swarmy, &UpRun::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("swarm.yaml:6: services.web.deploy.placement: not supported by berth"),
            "{e}"
        );
        let made = docker(&d, &["network", "ls", "--format", "{{.Name}}"]);
        assert!(!made.contains("swarmy"), "{made}");

        // A build on no network, with a bigger /dev/shm and an extra tag (the RUN steps fail
        // otherwise: a build container on the default network has an eth0, and 64 MiB of shm).
        write(
            &dir,
            "img/Dockerfile",
            &format!(
                "FROM {image}\nRUN test ! -e /sys/class/net/eth0\nRUN test \"$(df -k /dev/shm | tail -1 | awk '{{print $2}}')\" = 131072\n"
            ),
        );
        write(
            &dir,
            "build.yaml",
            "name: baked\nservices:\n  b:\n    build: {context: ./img, network: none, shm_size: 128m, tags: ['baked-extra:1']}\n",
        );
        let baked = load(&LoadOptions {
            files: vec![dir.join("build.yaml")],
            working_dir: dir.clone(),
            ..Default::default()
        })
        .unwrap();
        compose
            .build_service(&baked, &baked.services["b"])
            .await
            .unwrap();
        let ids = docker(
            &d,
            &["image", "inspect", "-f", "{{.Id}}", "baked-b", "baked-extra:1"],
        );
        let ids: Vec<&str> = ids.lines().collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], ids[1], "the extra tag names the built image");
    });
}
