//! `berth prune [--volumes]`: remove stopped containers, dangling images, unused networks and
//! the build cache (and unused volumes when asked), then say how much space that freed.

use std::process::ExitCode;

use berth_api::{Berth, PruneStep};

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also remove volumes no container uses (their data is lost)
    #[arg(long)]
    volumes: bool,
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    let summary = berth.prune(args.volumes).await?;
    if args.json {
        output::json(&summary)?;
        return Ok(ExitCode::SUCCESS);
    }
    let row = |step: &PruneStep| {
        format!(
            "{} removed, {}",
            step.deleted,
            human_bytes(step.space_reclaimed)
        )
    };
    let mut rows = vec![
        ("Containers", row(&summary.containers)),
        ("Images", row(&summary.images)),
        ("Networks", format!("{} removed", summary.networks.deleted)),
        ("Build cache", row(&summary.build_cache)),
    ];
    rows.push((
        "Volumes",
        summary
            .volumes
            .as_ref()
            .map_or_else(|| "kept (use --volumes)".to_owned(), row),
    ));
    output::fields(&rows);
    println!(
        "Total space freed: {}",
        human_bytes(summary.space_reclaimed())
    );
    Ok(ExitCode::SUCCESS)
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_dockers() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(104_857_600), "104.9 MB");
    }
}
