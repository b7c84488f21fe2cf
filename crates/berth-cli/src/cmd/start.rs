//! `berth start [--use-context]`: start the engine (and the daemon) and wait until it answers.

use std::process::ExitCode;

use berth_api::daemon_client::DaemonWatch;
use berth_api::{Berth, CONTEXT_NAME};
use berth_core::{EngineState, StartPhase};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also make `berth` the docker CLI's current context
    #[arg(long)]
    use_context: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    berth.ensure_daemon().await?;
    eprintln!("Starting Berth's engine...");
    let progress = match berth.daemon().watch().await {
        Ok(watch) => Some(tokio::spawn(print_phases(watch))),
        Err(_) => None,
    };
    let result = berth.start_engine(args.use_context).await;
    if let Some(progress) = progress {
        progress.abort();
    }
    let status = result?;
    let socket = berth.paths().engine_socket();
    println!("Engine running.");
    println!("  Socket:  {}", socket.display());
    if let Some(vm) = &status.vm {
        println!(
            "  VM:      {} with {} CPUs, {} MiB memory, {} GiB disk",
            vm.hypervisor, vm.cpus, vm.memory_mib, vm.disk_gib
        );
    }
    if args.use_context {
        println!("  Context: {CONTEXT_NAME} (now current): try `docker ps`");
    } else {
        println!("  Try:     docker --context {CONTEXT_NAME} ps");
    }
    Ok(ExitCode::SUCCESS)
}

async fn print_phases(mut watch: DaemonWatch) {
    use berth_api::daemon_client::Reply;
    while let Some(reply) = watch.next().await {
        let state = match reply {
            Reply::Status { status } => status.state,
            Reply::State { state } => state,
            Reply::Error { .. } => continue,
        };
        if let EngineState::Starting { phase } = state {
            eprintln!("  {}", describe(phase));
        }
    }
}

pub fn describe(phase: StartPhase) -> &'static str {
    match phase {
        StartPhase::BootingVm => "booting the VM",
        StartPhase::WaitingForAgent => "waiting for the guest agent",
        StartPhase::WaitingForEngine => "waiting for the engine",
    }
}
