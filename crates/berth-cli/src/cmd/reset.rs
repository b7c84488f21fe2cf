//! `berth reset --yes`: back to factory defaults. Stops the engine, deletes its data disk (every
//! image, container and volume), the settings, the run state, Berth's keyring entries and the
//! `berth` docker context. Refuses without `--yes`.

use std::process::ExitCode;

use berth_api::Berth;

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Confirm: everything in the engine (images, containers, volumes) is deleted
    #[arg(long)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.yes {
        eprintln!(
            "berth reset deletes the engine's data disk (every image, container and volume), \
             the settings, Berth's stored credentials and the `berth` docker context.\n\
             Nothing was changed. Run `berth reset --yes` to confirm."
        );
        return Ok(ExitCode::from(2));
    }
    let mut berth = Berth::open()?;
    eprintln!("Stopping the engine and resetting Berth...");
    let report = berth.factory_reset().await?;
    if args.json {
        output::json(&report)?;
    } else {
        for path in &report.removed {
            println!("Deleted {}", path.display());
        }
        for registry in &report.signed_out {
            println!("Signed out of {registry}");
        }
        if report.context_removed {
            println!("Removed the docker context `{}`", berth_api::CONTEXT_NAME);
        }
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
        println!("Berth is back to factory defaults; the next `berth start` is a first start.");
    }
    Ok(ExitCode::SUCCESS)
}
