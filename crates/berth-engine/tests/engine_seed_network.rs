//! What the primer teaches about networking: name resolution on user-defined networks but not on
//! the default bridge, `--network host` and `none`, and published ports, on a real engine.

mod engine_seed_support;

use berth_engine::{ContainerFilter, NetworkCreate, PortBinding, Protocol};
use berth_testkit::{run, wait_until_async};
use engine_seed_support::{Seed, TestResult, STEP};

/// `ping -c1` from `from` to `to`: exit code and output.
async fn ping(s: &Seed, from: &str, to: &str) -> Result<(i64, String), engine_seed_support::Error> {
    s.exec(from, &["ping", "-c", "1", "-W", "2", to]).await
}

async fn bridge_ip(s: &Seed, id: &str) -> Result<String, engine_seed_support::Error> {
    let inspect = s.engine.inspect_container(id).await?;
    let ip = inspect
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|mut n| n.remove("bridge"))
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty())
        .ok_or("container has no address on the default bridge")?;
    Ok(ip)
}

#[tokio::test]
async fn containers_on_a_user_defined_network_reach_each_other_by_name() -> TestResult {
    let s = Seed::start().await?;
    let net = s.name("net");
    s.engine
        .create_network(&NetworkCreate {
            name: net.clone(),
            ..Default::default()
        })
        .await?;
    let a_name = s.name("a");
    let b_name = s.name("b");
    let a = s
        .run(&s.idle_spec("unused").name(&a_name).network(&net))
        .await?;
    s.run(&s.idle_spec("unused").name(&b_name).network(&net))
        .await?;
    let (code, out) = ping(&s, &a, &b_name).await?;
    assert_eq!(code, 0, "ping {b_name} by name failed: {out}");
    assert!(out.contains("1 packets received"), "{out}");
    Ok(())
}

#[tokio::test]
async fn containers_on_the_default_bridge_do_not_resolve_each_other_by_name() -> TestResult {
    let s = Seed::start().await?;
    let a = s.run(&s.idle_spec("a")).await?;
    let b_name = s.name("b");
    let b = s.run(&s.idle_spec("unused").name(&b_name)).await?;
    let (code, out) = ping(&s, &a, &b_name).await?;
    assert_ne!(code, 0, "{b_name} resolved on the default bridge: {out}");
    assert!(out.contains("bad address"), "not a name failure: {out}");
    // They are connected all the same: by address the ping goes through.
    let ip = bridge_ip(&s, &b).await?;
    let (code, out) = ping(&s, &a, &ip).await?;
    assert_eq!(code, 0, "ping {ip} failed: {out}");
    Ok(())
}

#[tokio::test]
async fn network_host_shares_the_engines_network_stack() -> TestResult {
    let s = Seed::start().await?;
    // A free port: nothing else listens in the daemon's fresh netns.
    let port = 20_000 + std::process::id() % 40_000;
    let serve = format!(
        "mkdir -p /www && echo host-net-{port} > /www/index.html && \
         exec httpd -f -p 127.0.0.1:{port} -h /www"
    );
    let id = s
        .run(
            &berth_engine::RunSpec::new(&s.image)
                .name(s.name("host"))
                .network("host")
                .cmd(["sh", "-c", &serve]),
        )
        .await?;
    // It sees the engine's own interfaces (the docker0 bridge) ...
    let links = s.exec_ok(&id, &["ip", "-o", "link"]).await?;
    assert!(links.contains("docker0"), "{links}");
    // ... and its unpublished port is on the engine host's loopback.
    let url = format!("http://127.0.0.1:{port}/");
    let body = wait_until_async(STEP, "httpd on the host network", || async {
        run(s
            .d
            .netns_exec(&["timeout", "5", "busybox", "wget", "-qO-", &url]))
    })
    .await?;
    assert_eq!(body.trim(), format!("host-net-{port}"));
    // For contrast, a bridge container has its own stack: no docker0 in it.
    let bridged = s.run(&s.idle_spec("bridged")).await?;
    let links = s.exec_ok(&bridged, &["ip", "-o", "link"]).await?;
    assert!(!links.contains("docker0"), "{links}");
    Ok(())
}

#[tokio::test]
async fn network_none_leaves_only_loopback() -> TestResult {
    let s = Seed::start().await?;
    let id = s.run(&s.idle_spec("none").network("none")).await?;
    let links = s.exec_ok(&id, &["ip", "-o", "link"]).await?;
    let names: Vec<&str> = links.lines().filter_map(|l| l.split(": ").nth(1)).collect();
    assert_eq!(names, ["lo"], "{links}");
    // No route anywhere, not even to the bridge gateway.
    let gateway = s
        .engine
        .inspect_network("bridge")
        .await?
        .subnets
        .first()
        .and_then(|net| {
            net.split('/')
                .next()?
                .rsplit_once('.')
                .map(|(p, _)| format!("{p}.1"))
        })
        .ok_or("bridge has no subnet")?;
    let (code, out) = s
        .exec(&id, &["ping", "-c", "1", "-W", "2", &gateway])
        .await?;
    assert_ne!(code, 0, "reached {gateway} without a network: {out}");
    Ok(())
}

#[tokio::test]
async fn a_published_port_answers_http_from_the_host() -> TestResult {
    let s = Seed::start().await?;
    let serve = "mkdir -p /www && echo hello-from-a-published-port > /www/index.html && \
                 exec httpd -f -p 80 -h /www";
    let id = s
        .run(
            &berth_engine::RunSpec::new(&s.image)
                .name(s.name("web"))
                .cmd(["sh", "-c", serve])
                .port(PortBinding {
                    host_ip: None,
                    host_port: None,
                    container_port: 80,
                    protocol: Protocol::Tcp,
                }),
        )
        .await?;
    let listed = s
        .engine
        .list_containers(&ContainerFilter {
            id: Some(id.clone()),
            ..Default::default()
        })
        .await?;
    let port = listed
        .first()
        .and_then(|c| c.ports.iter().find_map(|p| p.public_port))
        .ok_or_else(|| format!("no published port in {listed:?}"))?;
    let url = format!("http://127.0.0.1:{port}/");
    let body = wait_until_async(STEP, "the published port to answer", || async {
        run(s
            .d
            .netns_exec(&["timeout", "5", "busybox", "wget", "-qO-", &url]))
    })
    .await?;
    assert_eq!(body, "hello-from-a-published-port\n");
    // Stopping the container closes the port.
    s.engine
        .stop_container(&id, Some(std::time::Duration::from_secs(2)))
        .await?;
    let refused = run(s
        .d
        .netns_exec(&["timeout", "5", "busybox", "wget", "-qO-", &url]));
    assert!(refused.is_err(), "port {port} still answers after stop");
    Ok(())
}
