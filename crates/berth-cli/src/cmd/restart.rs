//! `berth restart`: stop, then start, waiting until the engine answers.

use std::process::ExitCode;

use berth_api::Berth;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    eprintln!("Restarting Berth's engine...");
    berth.restart_engine().await?;
    println!("Engine running.");
    println!("  Socket:  {}", berth.paths().engine_socket().display());
    Ok(ExitCode::SUCCESS)
}
