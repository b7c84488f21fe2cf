//! What the primer teaches about containers: the lifecycle commands, and `exec` (a new process)
//! versus `attach` (the main process's standard streams), on a real engine.

mod engine_seed_support;

use std::time::Duration;

use berth_engine::RunSpec;
use engine_seed_support::{Error, Seed, TestResult, STEP};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

async fn state(s: &Seed, id: &str) -> Result<String, Error> {
    let inspect = s.engine.inspect_container(id).await?;
    let status = inspect
        .state
        .and_then(|st| st.status)
        .ok_or("no state in inspect")?;
    Ok(status.to_string())
}

#[tokio::test]
async fn create_start_pause_unpause_stop_restart_rm() -> TestResult {
    let s = Seed::start().await?;
    let id = s.engine.create_container(&s.idle_spec("life")).await?;
    assert_eq!(state(&s, &id).await?, "created");
    s.engine.start_container(&id).await?;
    assert_eq!(state(&s, &id).await?, "running");

    s.engine.pause_container(&id).await?;
    assert_eq!(state(&s, &id).await?, "paused");
    // A paused container's processes are frozen: nothing new may run in it.
    let refused = s.exec(&id, &["true"]).await;
    assert!(refused.is_err(), "exec ran in a paused container");
    s.engine.unpause_container(&id).await?;
    assert_eq!(s.exec_ok(&id, &["echo", "thawed"]).await?, "thawed\n");

    s.engine
        .stop_container(&id, Some(Duration::from_secs(5)))
        .await?;
    assert_eq!(state(&s, &id).await?, "exited");
    s.engine
        .restart_container(&id, Some(Duration::from_secs(5)))
        .await?;
    assert_eq!(state(&s, &id).await?, "running");

    s.remove(&id).await?;
    let gone = s.engine.inspect_container(&id).await;
    assert_eq!(
        gone.map(|_| ()).map_err(|e| e.code()),
        Err(berth_engine::ErrorCode::NotFound)
    );
    Ok(())
}

#[tokio::test]
async fn exec_starts_a_new_process_while_attach_talks_to_the_main_one() -> TestResult {
    let s = Seed::start().await?;
    let spec = RunSpec::new(&s.image)
        .name(s.name("attach"))
        .cmd(["sh", "-c", "read line; echo main-got:$line"])
        .stdin_open(true);
    let id = s.run(&spec).await?;

    // The main process is PID 1; an exec is another process beside it.
    let main = s.exec_ok(&id, &["cat", "/proc/1/cmdline"]).await?;
    assert!(main.contains("read line"), "{main:?}");
    let exec_pid = s.exec_ok(&id, &["sh", "-c", "echo $$"]).await?;
    assert_ne!(exec_pid.trim(), "1");

    // Attach joins PID 1's stdin and stdout (Berth's API has no attach yet: through bollard).
    let options = bollard::query_parameters::AttachContainerOptionsBuilder::new()
        .stream(true)
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .build();
    let mut attached = berth_testkit::docker_client(s.engine.address())
        .await
        .attach_container(&id, Some(options))
        .await?;
    attached.input.write_all(b"hello\n").await?;
    attached.input.flush().await?;
    let mut seen = String::new();
    let read = async {
        while let Some(chunk) = attached.output.next().await {
            seen.push_str(&chunk?.to_string());
            if seen.contains("main-got:hello") {
                break;
            }
        }
        Ok::<(), bollard::errors::Error>(())
    };
    tokio::time::timeout(STEP, read).await??;
    assert!(seen.contains("main-got:hello"), "{seen:?}");
    let code = tokio::time::timeout(STEP, s.engine.wait_container(&id)).await??;
    assert_eq!(code, 0);
    Ok(())
}
