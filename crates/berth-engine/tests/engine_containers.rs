//! Containers on a real engine: RunSpec, list/inspect, lifecycle, logs, stats, exec, wait.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_engine::containers::RemoveOptions;
use berth_engine::logs::LogStream;
use berth_engine::{
    ContainerFilter, ErrorCode, ExecOptions, LogOptions, Mount, PortBinding, Protocol,
    RestartPolicy, RunSpec,
};
use berth_testkit::wait_until_async;
use support::{code_of, drain, next, Env, TestResult, STEP};
use tokio::io::AsyncWriteExt;

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn run_spec_options_reach_the_container_and_lifecycle_operations_work() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let host_dir = env.d.root().join(env.name("bind"));
    std::fs::create_dir(&host_dir)?;
    std::fs::write(host_dir.join("hello.txt"), "from host")?;
    let volume = env.name("vol");
    let project = env.name("proj");
    let spec = env
        .idle("life")
        .env("GREETING", "hi there")
        .port(PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: None,
            container_port: 8080,
            protocol: Protocol::Tcp,
        })
        .mount(Mount::Volume {
            source: Some(volume.clone()),
            target: "/data".into(),
            read_only: false,
        })
        .mount(Mount::Volume {
            source: None,
            target: "/anon".into(),
            read_only: false,
        })
        .mount(Mount::Bind {
            source: host_dir.to_string_lossy().into_owned(),
            target: "/host".into(),
            read_only: true,
        })
        .mount(Mount::Tmpfs {
            target: "/scratch".into(),
            size_bytes: Some(2 * MIB),
        })
        .label("com.docker.compose.project", &project)
        .label("com.docker.compose.service", "web")
        .working_dir("/data");
    let name = spec.name.clone().ok_or("no name")?;
    let id = e.run(&spec).await?;

    // List, filtered by compose project, with compose labels surfaced.
    let filter = ContainerFilter {
        compose_project: Some(project.clone()),
        ..Default::default()
    };
    let listed = e.list_containers(&filter).await?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let c = &listed[0];
    assert_eq!(
        (c.id.as_str(), c.name.as_str()),
        (id.as_str(), name.as_str())
    );
    assert_eq!(c.state, "running");
    assert_eq!(c.compose_project.as_deref(), Some(project.as_str()));
    assert_eq!(c.compose_service.as_deref(), Some("web"));
    let port = c
        .ports
        .iter()
        .find(|p| p.private_port == 8080)
        .ok_or("port 8080 not listed")?;
    assert_eq!(port.ip.as_deref(), Some("127.0.0.1"));
    assert!(port.public_port.is_some_and(|p| p > 0), "{port:?}");

    // Inspect shows the mounts, including the tmpfs size limit.
    let info = e.inspect_container(&id).await?;
    let mounts = info.host_config.and_then(|h| h.mounts).unwrap_or_default();
    let tmpfs = mounts
        .iter()
        .find(|m| m.target.as_deref() == Some("/scratch"))
        .ok_or("no tmpfs")?;
    assert_eq!(
        tmpfs.tmpfs_options.as_ref().and_then(|t| t.size_bytes),
        Some(2 * MIB as i64)
    );
    let anon = info
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.destination.as_deref() == Some("/anon"))
        .and_then(|m| m.name)
        .ok_or("no anonymous volume")?;

    // Inside: env, working dir, bind (read-only), tmpfs size.
    let script = "echo $GREETING; pwd; cat /host/hello.txt; echo; \
                  touch /host/x 2>/dev/null && echo rw || echo ro; df -k /scratch | tail -n 1";
    let (code, out) = env.exec(&id, &["sh", "-c", script]).await?;
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..4],
        ["hi there", "/data", "from host", "ro"],
        "{out}"
    );
    assert!(
        lines[4].split_whitespace().nth(1) == Some("2048"),
        "tmpfs not 2 MiB: {out}"
    );

    // Pause, unpause, restart, rename, stop, start, kill.
    e.pause_container(&id).await?;
    assert_eq!(env.state(&id).await?, "paused");
    e.unpause_container(&id).await?;
    assert_eq!(env.state(&id).await?, "running");
    let started = |i: bollard::models::ContainerInspectResponse| i.state.and_then(|s| s.started_at);
    let before = started(e.inspect_container(&id).await?);
    e.restart_container(&id, Some(Duration::from_secs(5)))
        .await?;
    assert_eq!(env.state(&id).await?, "running");
    assert_ne!(
        started(e.inspect_container(&id).await?),
        before,
        "restart did not restart"
    );
    let renamed = env.name("renamed");
    e.rename_container(&id, &renamed).await?;
    let by_name = e
        .list_containers(&ContainerFilter {
            name: Some(renamed.clone()),
            ..Default::default()
        })
        .await?;
    assert_eq!(by_name.first().map(|c| c.id.as_str()), Some(id.as_str()));
    assert_eq!(
        code_of(e.rename_container(&id, "-bad").await),
        ErrorCode::InvalidInput
    );
    e.stop_container(&id, Some(Duration::from_secs(10))).await?;
    assert_eq!(env.state(&id).await?, "exited");
    let running_only = e.list_containers(&filter).await?;
    assert!(
        running_only.is_empty(),
        "stopped container listed without all: {running_only:?}"
    );
    let all = e
        .list_containers(&ContainerFilter {
            all: true,
            ..filter.clone()
        })
        .await?;
    assert_eq!(all.len(), 1);
    e.start_container(&id).await?;
    e.kill_container(&id, None).await?;
    assert_eq!(
        tokio::time::timeout(STEP, e.wait_container(&id)).await??,
        137
    );

    // A second container with the same name conflicts.
    let clash = RunSpec::new(&env.image).name(&renamed).cmd(["true"]);
    assert_eq!(code_of(e.run(&clash).await), ErrorCode::Conflict);

    // Remove with volumes: the anonymous volume goes, the named one stays.
    e.remove_container(
        &id,
        RemoveOptions {
            force: true,
            volumes: true,
        },
    )
    .await?;
    assert_eq!(code_of(e.inspect_container(&id).await), ErrorCode::NotFound);
    assert_eq!(code_of(e.inspect_volume(&anon).await), ErrorCode::NotFound);
    e.inspect_volume(&volume).await?;
    assert_eq!(
        code_of(e.remove_container(&id, RemoveOptions::default()).await),
        ErrorCode::NotFound
    );
    Ok(())
}

#[tokio::test]
async fn create_keeps_restart_policy_and_bad_specs_never_reach_the_engine() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let spec = env.idle("created").restart(RestartPolicy::OnFailure {
        max_retries: Some(3),
    });
    let id = e.create_container(&spec).await?;
    assert_eq!(env.state(&id).await?, "created");
    let policy = e
        .inspect_container(&id)
        .await?
        .host_config
        .and_then(|h| h.restart_policy)
        .ok_or("no restart policy")?;
    assert_eq!(
        policy.name.map(|n| n.to_string()).as_deref(),
        Some("on-failure")
    );
    assert_eq!(policy.maximum_retry_count, Some(3));

    let bad_name = env.name("bad");
    let bad = RunSpec::new(&env.image).name(&bad_name).port(PortBinding {
        host_ip: None,
        host_port: None,
        container_port: 0,
        protocol: Protocol::Tcp,
    });
    assert_eq!(code_of(e.run(&bad).await), ErrorCode::InvalidInput);
    let listed = e
        .list_containers(&ContainerFilter {
            all: true,
            name: Some(bad_name),
            ..Default::default()
        })
        .await?;
    assert!(
        listed.is_empty(),
        "invalid spec created a container: {listed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn logs_tail_timestamps_since_and_follow() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    // stdout and stderr are separate pipes: the pause keeps their order in the log certain.
    let script =
        "echo two >&2; sleep 1; echo one; echo three; trap 'exit 0' TERM; sleep 600 & wait";
    let id = e
        .run(
            &RunSpec::new(&env.image)
                .name(env.name("logs"))
                .cmd(["sh", "-c", script]),
        )
        .await?;
    let all = wait_until_async(STEP, "three log lines", || async {
        let lines = drain(e.logs(&id, &LogOptions::default()), STEP)
            .await
            .ok()?;
        (lines.len() == 3).then_some(lines)
    })
    .await?;
    let texts: Vec<&str> = all.iter().map(|l| l.text.as_str()).collect();
    assert!(texts.contains(&"two\n"), "{texts:?}");
    let two = all
        .iter()
        .find(|l| l.text == "two\n")
        .ok_or("no stderr line")?;
    assert_eq!(two.stream, LogStream::Stderr);

    let tail = drain(
        e.logs(
            &id,
            &LogOptions {
                tail: Some(1),
                ..Default::default()
            },
        ),
        STEP,
    )
    .await?;
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].text, "three\n");

    let stamped = drain(
        e.logs(
            &id,
            &LogOptions {
                timestamps: true,
                ..Default::default()
            },
        ),
        STEP,
    )
    .await?;
    assert!(
        stamped
            .iter()
            .all(|l| l.timestamp.as_deref().is_some_and(|t| t.ends_with('Z'))),
        "{stamped:?}"
    );
    assert!(stamped.iter().any(|l| l.text == "one\n"));

    let future = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64 + 3600;
    let none = drain(
        e.logs(
            &id,
            &LogOptions {
                since: Some(future),
                ..Default::default()
            },
        ),
        STEP,
    )
    .await?;
    assert!(none.is_empty(), "{none:?}");

    // Follow: once the old lines arrived the subscription is live; a line written now arrives.
    let mut follow = Box::pin(e.logs(
        &id,
        &LogOptions {
            follow: true,
            ..Default::default()
        },
    ));
    for _ in 0..3 {
        next(&mut follow, "old log line").await?;
    }
    let (code, out) = env
        .exec(&id, &["sh", "-c", "echo late > /proc/1/fd/1"])
        .await?;
    assert_eq!(code, 0, "{out}");
    let line = next(&mut follow, "followed log line").await?;
    assert_eq!(line.text, "late\n");
    assert_eq!(line.stream, LogStream::Stdout);
    Ok(())
}

#[tokio::test]
async fn stats_wait_and_exec_with_a_resizable_tty() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let id = e.run(&env.idle("stats")).await?;

    let mut stats = Box::pin(e.stats(&id, true));
    let sample = next(&mut stats, "stats sample").await?;
    assert_eq!(sample.id, id);
    assert!(sample.memory_usage > 0 && sample.pids >= 1, "{sample:?}");
    let second = next(&mut stats, "second stats sample").await?;
    assert!(second.cpu_percent >= 0.0);
    let once = drain(e.stats(&id, false), STEP).await?;
    assert_eq!(once.len(), 1);

    // An interactive shell on a TTY: input echoes, resize is seen by the program, exit code kept.
    let session = e.exec(&id, &ExecOptions::interactive(["sh"])).await?;
    session.resize(100, 40).await?;
    assert_eq!(
        code_of(session.resize(0, 40).await),
        ErrorCode::InvalidInput
    );
    let handle = session.handle;
    let mut input = session.input;
    let mut output = session.output;
    input.write_all(b"stty size; echo $((6*7))\n").await?;
    input.flush().await?;
    let mut seen = String::new();
    while !(seen.contains("40 100") && seen.contains("42")) {
        let chunk = next(&mut output, "tty output").await?;
        seen.push_str(&String::from_utf8_lossy(&chunk.data));
    }
    assert!(
        seen.contains("echo $((6*7))"),
        "TTY did not echo input: {seen:?}"
    );
    input.write_all(b"exit 3\n").await?;
    input.flush().await?;
    support::collect_text(output).await?;
    let code = wait_until_async(STEP, "tty exec exit code", || async {
        handle.exit_code().await.ok().flatten()
    })
    .await?;
    assert_eq!(code, 3);

    // Wait returns exit codes, zero or not.
    let seven = e
        .run(&RunSpec::new(&env.image).cmd(["sh", "-c", "exit 7"]))
        .await?;
    assert_eq!(
        tokio::time::timeout(STEP, e.wait_container(&seven)).await??,
        7
    );
    let zero = e.run(&RunSpec::new(&env.image).cmd(["true"])).await?;
    assert_eq!(
        tokio::time::timeout(STEP, e.wait_container(&zero)).await??,
        0
    );
    assert_eq!(
        code_of(e.wait_container("no-such-container").await),
        ErrorCode::NotFound
    );

    let stdout_only = drain(
        e.logs(
            &seven,
            &LogOptions {
                stderr: false,
                ..Default::default()
            },
        ),
        STEP,
    )
    .await?;
    assert!(stdout_only.is_empty());
    Ok(())
}
