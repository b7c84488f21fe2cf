//! Remote engines on real servers: a private dockerd behind an sshd in its network namespace,
//! reached with `ssh ... docker system dial-stdio`; a dockerd serving TLS with client
//! certificates required. Each failure is named: a wrong ssh key, no docker on the remote, an
//! unknown CA, a certificate the engine does not trust, a remote that never answers.
#![cfg(unix)]

use std::time::{Duration, Instant};

use berth_engine::remote::REMOTE_CONNECT_TIMEOUT;
use berth_engine::{
    ContainerFilter, ContextStore, Endpoint, Engine, EngineError, ErrorCode, ExecOptions, RunSpec,
    SshClient, TlsFiles,
};
use berth_testkit::{Dockerd, NetnsBridge, RemoteShell, Sshd, TlsCerts};
use futures_util::StreamExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn no_store() -> ContextStore {
    ContextStore::new("/nonexistent/berth-test-docker-config")
}

fn ssh(program: std::path::PathBuf) -> SshClient {
    SshClient { program }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_over_ssh_runs_containers_and_names_each_failure() -> TestResult {
    let d = Dockerd::start()?;
    let image = d.test_image()?;
    let sshd = Sshd::start_for(&d, RemoteShell::WithDocker)?;
    let endpoint = Endpoint::Host(sshd.address());

    let engine = Engine::connect_via(&endpoint, &no_store(), &ssh(sshd.ssh_program()))
        .await
        .map_err(|e| format!("{e}\n--- sshd ---\n{}", sshd.log_tail(20)))?;
    engine.ping().await?;
    let version = engine.version().await?;
    assert_eq!(version.os, "linux");
    let name = d.unique_name("over-ssh");
    let mut spec = RunSpec::new(&image);
    spec.name = Some(name.clone());
    spec.cmd = Some(vec!["sleep".into(), "60".into()]);
    let id = engine.run(&spec).await?;
    let listed = engine.list_containers(&ContainerFilter::default()).await?;
    assert!(listed.iter().any(|c| c.id == id), "{listed:?}");
    // The container is on the private daemon behind sshd, not somewhere else.
    let out = berth_testkit::run(d.docker().args(["ps", "--format", "{{.Names}}"]))?;
    assert!(out.contains(&name), "{out}");
    // Hijacked connections pass too: exec with output.
    let options = ExecOptions {
        cmd: vec!["echo".into(), "through ssh".into()],
        ..Default::default()
    };
    let mut session = engine.exec(&id, &options).await?;
    let mut said = Vec::new();
    while let Some(chunk) =
        tokio::time::timeout(Duration::from_secs(30), session.output.next()).await?
    {
        said.extend(chunk?.data);
    }
    assert_eq!(String::from_utf8_lossy(&said).trim(), "through ssh");
    engine
        .remove_container(
            &id,
            berth_engine::RemoveOptions {
                force: true,
                volumes: false,
            },
        )
        .await?;

    let wrong = Engine::connect_via(&endpoint, &no_store(), &ssh(sshd.wrong_key_ssh_program()))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, EngineError::SshAuthRefused { .. }),
        "{wrong}"
    );
    assert_eq!(wrong.code(), ErrorCode::Unauthorized);
    assert!(
        wrong.to_string().contains("wrong or missing key"),
        "{wrong}"
    );

    let bare = Sshd::start_for(&d, RemoteShell::WithoutDocker)?;
    let err = Engine::connect_via(
        &Endpoint::Host(bare.address()),
        &no_store(),
        &ssh(bare.ssh_program()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, EngineError::NoDockerOnRemote { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::MissingTool);
    Ok(())
}

#[tokio::test]
async fn an_unreachable_remote_is_reported_within_ten_seconds() -> TestResult {
    // A port that accepts TCP connections and never says a word (not even ssh's banner), and
    // a port nobody listens on.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let silent_port = silent.local_addr()?.port();
    let closed_port = berth_testkit::free_port();
    let client = ssh("ssh".into());
    for port in [silent_port, closed_port] {
        let endpoint = Endpoint::Host(format!("ssh://root@127.0.0.1:{port}"));
        let started = Instant::now();
        let err = Engine::connect_via(&endpoint, &no_store(), &client)
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "took {took:?}: {err}");
        assert_eq!(err.code(), ErrorCode::EngineUnreachable, "{err}");
        assert!(
            matches!(err, EngineError::RemoteUnreachable { .. }),
            "{err}"
        );
    }
    let endpoint = Endpoint::Tls {
        host: format!("tcp://127.0.0.1:{silent_port}"),
        tls: TlsFiles::in_dir(std::path::Path::new("/nonexistent")),
    };
    // Unreadable TLS files are named before anything is dialled.
    let err = Engine::connect_via(&endpoint, &no_store(), &client)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
    assert!(REMOTE_CONNECT_TIMEOUT < Duration::from_secs(10));
    drop(silent);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_engine_is_verified_both_ways() -> TestResult {
    let scratch = tempfile::tempdir()?;
    let certs = TlsCerts::make(scratch.path())?;
    let d = Dockerd::start_with_args(certs.dockerd_args("127.0.0.1:2376"))?;
    let bridge = NetnsBridge::open(&d, "127.0.0.1:2376")?;
    let host = format!("tcp://127.0.0.1:{}", bridge.host_port());
    let tls = |ca: &std::path::Path, cert: &std::path::Path, key: &std::path::Path| Endpoint::Tls {
        host: host.clone(),
        tls: TlsFiles {
            ca: ca.into(),
            cert: cert.into(),
            key: key.into(),
        },
    };
    let client = ssh("ssh".into());

    let good = tls(&certs.ca, &certs.client_cert, &certs.client_key);
    let engine = Engine::connect_via(&good, &no_store(), &client)
        .await
        .map_err(|e| format!("{e}\n--- dockerd ---\n{}", d.log_tail(20)))?;
    engine.ping().await?;
    assert_eq!(engine.address(), host);

    let unknown_ca = tls(&certs.other_ca, &certs.client_cert, &certs.client_key);
    let err = Engine::connect_via(&unknown_ca, &no_store(), &client)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::TlsRefused { .. }), "{err}");
    assert!(err.to_string().contains("unknown CA"), "{err}");

    let stranger = tls(&certs.ca, &certs.stranger_cert, &certs.stranger_key);
    let err = Engine::connect_via(&stranger, &no_store(), &client)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::TlsRefused { .. }), "{err}");
    assert!(err.to_string().contains("client certificate"), "{err}");

    // Plain HTTP to a TLS port is not mistaken for an engine.
    let plain = Engine::connect_via(&Endpoint::Host(host.clone()), &no_store(), &client).await;
    assert!(plain.is_err());
    Ok(())
}
