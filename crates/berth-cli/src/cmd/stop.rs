//! `berth stop`: stop the engine gracefully (the daemon forces it after a deadline).

use std::process::ExitCode;

use berth_api::Berth;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also end the background daemon
    #[arg(long)]
    quit: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    if args.quit {
        berth.quit_daemon().await?;
        println!("Engine stopped; daemon ended.");
        return Ok(ExitCode::SUCCESS);
    }
    match berth.stop_engine().await? {
        Some(_) => println!("Engine stopped."),
        None => println!("Engine not running."),
    }
    Ok(ExitCode::SUCCESS)
}
