//! `berth setup`: the first-run setup (the `berth` docker context, the compose plugin, `berth`
//! and `docker-credential-berth` on the PATH); `--undo` takes it back before an uninstall,
//! keeping Berth's data unless `--delete-data` asks for it to go too.

use std::process::ExitCode;

use berth_api::setup::{self, Layout};
use berth_api::Berth;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also make `berth` the docker CLI's current context
    #[arg(long, conflicts_with = "undo")]
    use_context: bool,
    /// Take back what setup made (the context, the plugin and PATH links); keeps Berth's data
    #[arg(long)]
    undo: bool,
    /// With --undo: also stop the engine and delete Berth's settings, logs and data (the VM
    /// disk holding every image, container and volume)
    #[arg(long, requires = "undo")]
    delete_data: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    let layout = Layout::for_berth(&berth)?;
    if args.undo {
        for outcome in setup::undo(&layout)? {
            println!("{outcome}");
        }
        if args.delete_data {
            berth.quit_daemon().await?;
            for dir in setup::delete_data(berth.paths())? {
                println!("deleted {}", dir.display());
            }
        } else {
            println!("Berth's data is kept; `berth setup --undo --delete-data` deletes it.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    for outcome in setup::setup(&layout)? {
        println!("{outcome}");
    }
    if args.use_context {
        setup::use_context(&layout)?;
        println!("docker context {} is now current", layout.context.name);
    }
    let marker = setup::first_run_marker(berth.paths());
    std::fs::write(&marker, concat!(env!("CARGO_PKG_VERSION"), "\n"))?;
    Ok(ExitCode::SUCCESS)
}
