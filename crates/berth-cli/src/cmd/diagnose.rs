//! `berth diagnose [-o FILE]`: a diagnostics bundle with every secret removed.

use std::path::PathBuf;
use std::process::ExitCode;

use berth_api::Berth;

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the bundle (default: ./berth-diagnostics-<time>.tar.gz)
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Print what was written as JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    let out = args.output.unwrap_or_else(|| {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        PathBuf::from(format!("berth-diagnostics-{stamp}.tar.gz"))
    });
    let bundle = berth.diagnostics_bundle(&out).await?;
    if args.json {
        output::json(&bundle)?;
    } else {
        println!(
            "Wrote {} ({} files, {} bytes). Secrets and tokens were removed; look inside before you share it.",
            bundle.path.display(),
            bundle.files.len(),
            bundle.bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}
