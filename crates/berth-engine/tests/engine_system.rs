//! System on a real engine: connecting by socket, DOCKER_HOST value and docker context;
//! ping, version negotiation, info, disk usage, typed events; an unreachable engine fails fast.
// The relay and the engine are reached over unix sockets here (the Windows named pipe has its
// own code path); the engine tier runs on Linux.
#![cfg(unix)]

mod support;

use std::time::{Duration, Instant};

use berth_engine::{
    ContextStore, DockerContext, Endpoint, Engine, ErrorCode, EventFilter, RunSpec, CONNECT_TIMEOUT,
};
use support::{next, Env, TestResult, STEP};

#[tokio::test]
async fn connects_by_socket_host_and_context_and_reports_the_engine() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    assert_eq!(e.api_version(), "1.41", "dockerd 20.10 speaks API 1.41");
    e.ping().await?;
    let v = e.version().await?;
    assert_eq!(v.api_version, "1.41");
    assert_eq!(v.negotiated_api_version, "1.41");
    assert_eq!(v.os, "linux");
    assert!(v.version.starts_with("20.10"), "{v:?}");
    let info = e.info().await?;
    assert!(info.images.unwrap_or(0) >= 1, "{info:?}");

    let by_host = Engine::connect(&Endpoint::Host(env.d.docker_host())).await?;
    by_host.ping().await?;

    let config = tempfile::tempdir()?;
    let store = ContextStore::new(config.path());
    store.write(&DockerContext {
        name: "berth-test".into(),
        description: Some("test engine".into()),
        host: env.d.docker_host(),
        skip_tls_verify: false,
    })?;
    let by_context =
        Engine::connect_with_store(&Endpoint::Context("berth-test".into()), &store).await?;
    assert_eq!(by_context.address(), env.d.docker_host());
    by_context.ping().await?;

    // The stock CLI reads the context we wrote.
    let out = env
        .d
        .docker()
        .env("DOCKER_CONFIG", config.path())
        .env_remove("DOCKER_HOST")
        .args([
            "--context",
            "berth-test",
            "version",
            "--format",
            "{{.Server.APIVersion}}",
        ])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.41");

    // ... we read a context the stock CLI wrote, and the CLI follows our currentContext.
    let cli = |args: &[&str]| -> Result<String, support::Error> {
        let out = env
            .d
            .docker()
            .env("DOCKER_CONFIG", config.path())
            .env_remove("DOCKER_HOST")
            .args(args)
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let host_arg = format!("host={}", env.d.docker_host());
    cli(&["context", "create", "from-cli", "--docker", &host_arg])?;
    let from_cli = store.read("from-cli")?;
    assert_eq!(from_cli.host, env.d.docker_host());
    let names: Vec<String> = store.list()?.into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["berth-test", "from-cli"]);
    store.set_current(Some("berth-test"))?;
    assert_eq!(cli(&["context", "show"])?, "berth-test");
    store.remove("berth-test")?;
    assert_eq!(cli(&["context", "show"])?, "default");
    assert!(cli(&["context", "inspect", "berth-test"]).is_err());

    let usage = e.disk_usage().await?;
    assert!(
        usage.images.total_count >= 1 && usage.layers_size > 0,
        "{usage:?}"
    );
    Ok(())
}

#[tokio::test]
async fn events_stream_yields_typed_container_start_and_die() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let filter = EventFilter {
        kinds: vec!["container".into()],
        ..Default::default()
    };
    // `since` replays from before the run, so nothing depends on when the request is sent.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64
        - 1;
    let name = env.name("evt");
    let id = e
        .run(
            &RunSpec::new(&env.image)
                .name(&name)
                .cmd(["sh", "-c", "exit 4"]),
        )
        .await?;
    assert_eq!(tokio::time::timeout(STEP, e.wait_container(&id)).await??, 4);
    let mut replay = Box::pin(e.events(&EventFilter {
        since: Some(since),
        ..filter.clone()
    }));
    let mut actions = Vec::new();
    while !actions.contains(&"die".to_string()) {
        let ev = next(&mut replay, "container event").await?;
        if ev.id == id {
            assert_eq!(ev.kind, "container");
            assert_eq!(ev.name.as_deref(), Some(name.as_str()));
            if ev.action == "die" {
                assert_eq!(ev.attributes.get("exitCode").map(String::as_str), Some("4"));
            }
            actions.push(ev.action);
        }
    }
    assert!(
        actions.starts_with(&["create".to_string(), "start".to_string()]),
        "{actions:?}"
    );

    // The stream stays open after the replay: a start that happens now arrives too.
    let second = e
        .create_container(&RunSpec::new(&env.image).cmd(["true"]))
        .await?;
    let starts = EventFilter {
        since: Some(since),
        actions: vec!["start".into()],
        ..filter
    };
    let mut live = Box::pin(e.events(&starts));
    let replayed = next(&mut live, "replayed start event").await?;
    assert_eq!(
        (replayed.id.as_str(), replayed.action.as_str()),
        (id.as_str(), "start")
    );
    e.start_container(&second).await?;
    let ev = next(&mut live, "live start event").await?;
    assert_eq!(
        (ev.id.as_str(), ev.action.as_str()),
        (second.as_str(), "start")
    );
    Ok(())
}

#[tokio::test]
async fn an_unreachable_engine_fails_fast_with_engine_unreachable() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = ContextStore::new(dir.path());

    // No socket file at all.
    let started = Instant::now();
    let err = Engine::connect_with_store(&Endpoint::Unix(dir.path().join("none.sock")), &store)
        .await
        .err()
        .ok_or("connected to nothing")?;
    assert_eq!(err.code(), ErrorCode::EngineUnreachable);

    // A socket file nobody listens on (connection refused).
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale)?);
    let err = Engine::connect_with_store(&Endpoint::Unix(stale), &store)
        .await
        .err()
        .ok_or("connected")?;
    assert_eq!(err.code(), ErrorCode::EngineUnreachable);

    // A closed TCP port.
    let port = berth_testkit::free_port();
    let err =
        Engine::connect_with_store(&Endpoint::Host(format!("tcp://127.0.0.1:{port}")), &store)
            .await
            .err()
            .ok_or("connected")?;
    assert_eq!(err.code(), ErrorCode::EngineUnreachable);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refusals took {:?}",
        started.elapsed()
    );

    // A listener that accepts and never answers: the connect deadline ends it.
    let silent_path = dir.path().join("silent.sock");
    let silent = tokio::net::UnixListener::bind(&silent_path)?;
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn);
        }
    });
    let started = Instant::now();
    let err = Engine::connect_with_store(&Endpoint::Unix(silent_path), &store)
        .await
        .err()
        .ok_or("connected")?;
    let took = started.elapsed();
    hold.abort();
    assert_eq!(err.code(), ErrorCode::EngineUnreachable);
    assert!(
        took >= CONNECT_TIMEOUT && took < CONNECT_TIMEOUT + Duration::from_secs(3),
        "took {took:?}"
    );

    // An unknown context is not_found, not a hang.
    let err = Engine::connect_with_store(&Endpoint::Context("nope".into()), &store)
        .await
        .err()
        .ok_or("connected")?;
    assert_eq!(err.code(), ErrorCode::NotFound);
    Ok(())
}

#[tokio::test]
async fn a_stopped_engine_turns_calls_into_engine_unreachable() -> TestResult {
    let env = Env::start().await?;
    let engine = env.engine.clone();
    engine.ping().await?;
    drop(env);
    let started = Instant::now();
    let err = engine
        .ping()
        .await
        .err()
        .ok_or("ping after stop succeeded")?;
    assert_eq!(err.code(), ErrorCode::EngineUnreachable);
    let err = engine
        .list_containers(&Default::default())
        .await
        .err()
        .ok_or("list after stop")?;
    assert_eq!(err.code(), ErrorCode::EngineUnreachable);
    assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(3));
    Ok(())
}
