//! `berth whoami [--json]`: the accounts Berth holds credentials for.

use std::process::ExitCode;

use berth_api::login as commands;

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the accounts as JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let hub = berth_api::hub::open()?;
    if args.json {
        output::json(&hub.registries()?)?;
    } else {
        commands::whoami(&hub, &mut std::io::stdout())?;
    }
    Ok(ExitCode::SUCCESS)
}
