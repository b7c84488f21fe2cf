//! `berth status [--json]`

use std::process::ExitCode;

use berth_api::Berth;

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the status as JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    let status = berth.status().await;
    if args.json {
        output::json(&status)?;
    } else {
        let mut rows = vec![
            ("Berth", status.berth_version.clone()),
            ("Endpoint", status.endpoint.clone()),
        ];
        match (&status.engine, &status.error) {
            (Some(v), _) => {
                rows.push(("Engine", "running".to_owned()));
                rows.push(("Engine version", v.version.clone()));
                rows.push(("API version", v.api_version.clone()));
                rows.push(("OS/Arch", format!("{}/{}", v.os, v.arch)));
            }
            (None, Some(error)) => {
                rows.push(("Engine", format!("{} ({})", error.message, error.code)));
            }
            (None, None) => {
                if status.daemon.as_ref().is_some_and(|d| d.state.is_paused()) {
                    rows.push((
                        "Engine",
                        "paused by Resource Saver: the next docker command wakes it".to_owned(),
                    ));
                }
            }
        }
        daemon_rows(&mut rows, status.daemon.as_ref());
        output::fields(&rows);
    }
    Ok(if status.reachable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// State, phase, VM pid and resources from the daemon, when one runs.
fn daemon_rows(
    rows: &mut Vec<(&str, String)>,
    daemon: Option<&berth_api::daemon_client::DaemonStatus>,
) {
    use berth_core::EngineState;
    let Some(d) = daemon else {
        rows.push(("State", "stopped (no daemon)".to_owned()));
        return;
    };
    let state = match &d.state {
        EngineState::Starting { phase } => format!("starting: {}", super::start::describe(*phase)),
        EngineState::Running { since } => format!("running since {since}"),
        EngineState::Paused { since } => format!("paused since {since}"),
        EngineState::Error { code, message } => format!("error: {message} ({code})"),
        other => other.name().to_owned(),
    };
    rows.push(("State", state));
    rows.push(("Daemon pid", d.daemon_pid.to_string()));
    if let Some(vm) = &d.vm {
        let pid = vm.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
        rows.push(("VM", format!("{} pid {pid}", vm.hypervisor)));
        rows.push((
            "VM resources",
            format!(
                "{} CPUs, {} MiB memory, {} GiB disk",
                vm.cpus, vm.memory_mib, vm.disk_gib
            ),
        ));
        if let Some(bytes) = vm.host_memory_bytes {
            rows.push(("VM memory on host", format!("{} MiB", bytes >> 20)));
        }
    }
    if let Some(idle) = &d.idle {
        let line = match idle.idle_secs {
            Some(secs) => format!("idle for {secs} s"),
            None => format!("kept awake by {} open connection(s)", idle.open_connections),
        };
        rows.push(("Resource Saver", line));
    }
    if let Some(boot) = &d.boot {
        rows.push(("Last start", boot.summary()));
    }
    if let Some(agent) = &d.agent {
        rows.push((
            "Agent",
            format!("{} (link protocol {})", agent.version, agent.protocol),
        ));
    }
    for warning in &d.port_warnings {
        let id: String = warning.container.chars().take(12).collect();
        rows.push((
            "Port warning",
            format!("{} (container {id})", warning.message),
        ));
    }
}
