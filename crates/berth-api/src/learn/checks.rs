//! Checking a step's claims on the engine (and the host folder), with a deadline for the ones
//! that take a moment to become true (a service's replicas, a health check).

use std::time::{Duration, Instant};

use berth_core::{ApiError, ErrorCode};
use berth_engine::Engine;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::base_image::{BASE_IMAGE, LABEL};
use super::model::{Check, Probe, Text};
use super::ops::{Ctx, Outcome};
use super::text::claim;

/// How long a claim on the engine may take to become true, unless the check says.
const DEFAULT_WAIT: Duration = Duration::from_secs(10);
/// Replicas and health checks converge more slowly.
const SLOW_WAIT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(250);

/// One check's verdict.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub claim: Text,
    pub passed: bool,
    /// What was seen instead, when it failed.
    pub detail: Option<String>,
}

/// What the step itself produced.
pub(crate) struct Seen<'a> {
    pub outcome: &'a Outcome,
    pub error: Option<&'a ApiError>,
}

/// Checks `check` (its placeholders filled in), retrying until its deadline.
pub(crate) async fn run(ctx: &Ctx, check: &Check, seen: &Seen<'_>) -> CheckResult {
    let claim = check.claim.clone().unwrap_or_else(|| claim(&check.probe));
    let deadline = match (&check.timeout_secs, &check.probe) {
        (Some(secs), _) => Duration::from_secs(*secs),
        (None, p) if p.is_immediate() => Duration::ZERO,
        (None, Probe::Replicas { .. } | Probe::Health { .. }) => SLOW_WAIT,
        (None, _) => DEFAULT_WAIT,
    };
    let started = Instant::now();
    loop {
        match probe(ctx, &check.probe, seen).await {
            Ok(()) => {
                return CheckResult {
                    claim,
                    passed: true,
                    detail: None,
                }
            }
            Err(seen) if started.elapsed() >= deadline => {
                return CheckResult {
                    claim,
                    passed: false,
                    detail: Some(seen),
                }
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// `Ok` when the claim holds, else what was seen.
async fn probe(ctx: &Ctx, p: &Probe, seen: &Seen<'_>) -> Result<(), String> {
    let e = &ctx.engine;
    match p {
        Probe::State { container, is } => {
            let state = container_state(e, container).await?;
            let status = state.status.map(|s| s.to_string()).unwrap_or_default();
            expect(&status == is, || format!("{container} is {status}"))
        }
        Probe::ExitCode { container, is } => {
            let code = container_state(e, container).await?.exit_code;
            expect(code == Some(*is), || format!("exit code {code:?}"))
        }
        Probe::Output {
            contains,
            lacks,
            count,
        } => output(
            &seen.outcome.output,
            contains.as_deref(),
            lacks.as_deref(),
            *count,
        ),
        Probe::Logs {
            container,
            contains,
            count,
        } => {
            let text = super::ops::logs(e, container)
                .await
                .map_err(|e| e.message)?;
            output(&text, Some(contains), None, *count)
        }
        Probe::Status { is, not } => {
            let status = seen.outcome.status;
            let ok = is.is_none_or(|want| status == Some(want))
                && not.is_none_or(|other| status.is_some() && status != Some(other));
            expect(ok, || format!("exit status {status:?}"))
        }
        Probe::Error { code } => match seen.error {
            Some(err) => expect(err.code.as_str() == code, || err.to_string()),
            None => Err("the step did not fail".into()),
        },
        Probe::Container { name, exists } => {
            presence(e.inspect_container(name).await.map(drop), *exists)
        }
        Probe::Image { image, exists } => presence(e.inspect_image(image).await.map(drop), *exists),
        Probe::Volume { name, exists } => presence(e.inspect_volume(name).await.map(drop), *exists),
        Probe::Network { name, exists } => {
            presence(e.inspect_network(name).await.map(drop), *exists)
        }
        Probe::SameImage { image, same_as } => {
            let a = image_id(e, image).await?;
            let b = image_id(e, same_as).await?;
            expect(a == b, || format!("{image} is {a}, {same_as} is {b}"))
        }
        Probe::Layers { image, added } => {
            let layers = layer_count(e, image).await?;
            let base = layer_count(e, BASE_IMAGE).await?;
            let extra = layers.saturating_sub(base);
            expect(extra == *added, || {
                format!("{image} has {layers} layers, the base image {base} ({extra} more)")
            })
        }
        Probe::Health { container, is } => {
            let health = container_state(e, container)
                .await?
                .health
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "no health check".into());
            expect(&health == is, || format!("{container} is {health}"))
        }
        Probe::StartedAfter { container, after } => started_after(e, container, after).await,
        Probe::Replicas { service, running } => {
            let tasks = e.service_tasks(service).await.map_err(|e| e.to_string())?;
            let up = tasks.iter().filter(|t| t.is_running()).count() as u64;
            let wanted = tasks
                .iter()
                .filter(|t| t.desired_state == "running")
                .count() as u64;
            expect(up == *running && wanted == *running, || {
                format!("{up} running, {wanted} meant to run")
            })
        }
        Probe::Service { name, exists } => {
            presence(e.inspect_service(name).await.map(drop), *exists)
        }
        Probe::SwarmLeft => {
            let state = e.swarm_state().await.map_err(|e| e.to_string())?;
            let made_here = state.labels.get(LABEL) == Some(&ctx.lesson);
            expect(!(state.active && made_here), || {
                "the lesson's swarm is still active".into()
            })
        }
        Probe::Swarm { active } => {
            let state = e.swarm_state().await.map_err(|e| e.to_string())?;
            expect(state.active == *active, || {
                format!("swarm active: {}", state.active)
            })
        }
        Probe::HostFile {
            path,
            contains,
            exists,
        } => host_file(path, contains.as_deref(), *exists),
    }
}

fn expect(ok: bool, seen: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(seen())
    }
}

fn output(
    text: &str,
    contains: Option<&str>,
    lacks: Option<&str>,
    count: Option<usize>,
) -> Result<(), String> {
    let shown = || {
        let t = text.trim();
        if t.is_empty() {
            "the output was empty".to_string()
        } else {
            format!(
                "the output was: {}",
                t.chars().take(400).collect::<String>()
            )
        }
    };
    if let Some(want) = contains {
        let n = text.matches(want).count();
        let ok = match count {
            Some(c) => n == c,
            None => n > 0,
        };
        expect(ok, shown)?;
    }
    if let Some(not) = lacks {
        expect(!text.contains(not), shown)?;
    }
    Ok(())
}

fn presence(found: Result<(), berth_engine::EngineError>, exists: bool) -> Result<(), String> {
    match (found, exists) {
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => Err("it is still there".into()),
        (Err(e), false) if e.code() == ErrorCode::NotFound => Ok(()),
        (Err(e), _) => Err(e.to_string()),
    }
}

async fn container_state(
    e: &Engine,
    name: &str,
) -> Result<bollard::models::ContainerState, String> {
    let info = e.inspect_container(name).await.map_err(|e| e.to_string())?;
    info.state.ok_or_else(|| format!("{name} has no state"))
}

async fn image_id(e: &Engine, image: &str) -> Result<String, String> {
    let info = e.inspect_image(image).await.map_err(|e| e.to_string())?;
    Ok(info.id.unwrap_or_default())
}

async fn layer_count(e: &Engine, image: &str) -> Result<usize, String> {
    let info = e.inspect_image(image).await.map_err(|e| e.to_string())?;
    Ok(info
        .root_fs
        .and_then(|r| r.layers)
        .map_or(0, |layers| layers.len()))
}

fn parse_time(s: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s?, &Rfc3339).ok()
}

/// `container` started once `after` was ready: after a passing health probe of `after` when it
/// has a health check, else after `after` started.
async fn started_after(e: &Engine, container: &str, after: &str) -> Result<(), String> {
    let started = container_state(e, container).await?;
    let started = parse_time(started.started_at.as_deref())
        .ok_or_else(|| format!("{container} has not started"))?;
    let dep = container_state(e, after).await?;
    let ready = match dep.health.and_then(|h| h.log) {
        Some(log) => log
            .iter()
            .filter(|r| r.exit_code == Some(0))
            .filter_map(|r| parse_time(r.end.as_deref()))
            .min(),
        None => parse_time(dep.started_at.as_deref()),
    };
    match ready {
        Some(ready) if ready <= started => Ok(()),
        Some(ready) => Err(format!(
            "{container} started at {started}, {after} ready at {ready}"
        )),
        None => Err(format!("{after} has not been ready")),
    }
}

fn host_file(path: &str, contains: Option<&str>, exists: bool) -> Result<(), String> {
    match (std::fs::read_to_string(path), exists) {
        (Ok(_), false) => Err(format!("{path} is there")),
        (Ok(text), true) => match contains {
            Some(want) => expect(text.contains(want), || format!("{path} holds: {text}")),
            None => Ok(()),
        },
        (Err(e), false) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        (Err(e), _) => Err(format!("{path}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_claims() {
        assert!(output("hello\nhello\n", Some("hello"), None, Some(2)).is_ok());
        assert!(output("hello\n", Some("hello"), None, Some(2)).is_err());
        assert!(output("hi", Some("hi"), Some("bye"), None).is_ok());
        let seen = output("bye", Some("hi"), None, None).unwrap_err();
        assert!(seen.contains("bye"), "{seen}");
        assert_eq!(
            output("", Some("x"), None, None).unwrap_err(),
            "the output was empty"
        );
    }

    #[test]
    fn presence_reads_not_found_as_gone() {
        let gone = Err(berth_engine::EngineError::NotFound {
            message: "no such volume".into(),
        });
        assert!(presence(gone, false).is_ok());
        assert!(presence(Ok(()), true).is_ok());
        assert!(presence(Ok(()), false).is_err());
    }

    #[test]
    fn engine_times_parse_with_any_precision() {
        let a = parse_time(Some("2024-05-01T10:00:00.5Z")).unwrap();
        let b = parse_time(Some("2024-05-01T10:00:00.123456789Z")).unwrap();
        assert!(b < a);
        assert!(parse_time(Some("0001-01-01T00:00:00Z")).is_some());
        assert!(parse_time(None).is_none());
    }

    #[test]
    fn host_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reply.txt");
        let p = path.to_str().unwrap();
        assert!(host_file(p, None, false).is_ok());
        std::fs::write(&path, "from the container").unwrap();
        assert!(host_file(p, Some("container"), true).is_ok());
        assert!(host_file(p, Some("host"), true).is_err());
        assert!(host_file(p, None, false).is_err());
    }
}
