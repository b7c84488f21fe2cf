//! `berth logs [--vm] [-f]`: Berth's own log (the daemon's rolling files, oldest first), or with
//! `--vm` the guest console of the current (or last) boot.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use berth_api::Berth;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the VM's console instead of Berth's own log
    #[arg(long)]
    vm: bool,
    /// Keep printing as the log grows
    #[arg(short, long)]
    follow: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    let mut out = std::io::stdout().lock();
    let path = if args.vm {
        berth.vm_console_log()
    } else {
        let files = berth.daemon_log_files();
        let Some((current, older)) = files.split_last() else {
            eprintln!(
                "No Berth log yet (in {}).",
                berth.paths().logs_dir.display()
            );
            return Ok(ExitCode::from(2));
        };
        for file in older {
            out.write_all(&std::fs::read(file)?)?;
        }
        current.clone()
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("No VM console log yet ({}).", path.display());
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        file.read_to_end(&mut buf)?;
        out.write_all(&buf)?;
        out.flush()?;
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        // A new boot or a rotation replaces the file: start over from the new one.
        if replaced(&path, &file) {
            file = std::fs::File::open(&path)?;
            file.seek(SeekFrom::Start(0))?;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(unix)]
fn replaced(path: &Path, open: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    let current = std::fs::metadata(path).map(|m| m.ino()).ok();
    current.is_some_and(|ino| ino != open.metadata().map(|m| m.ino()).unwrap_or(ino))
}

/// Without inode numbers (Windows' file index is not in stable std), a replaced file is one
/// created at another time.
#[cfg(not(unix))]
fn replaced(path: &Path, open: &std::fs::File) -> bool {
    let created = |m: std::fs::Metadata| m.created().ok();
    let current = std::fs::metadata(path).ok().and_then(created);
    let ours = open.metadata().ok().and_then(created);
    current.is_some() && ours.is_some() && current != ours
}
