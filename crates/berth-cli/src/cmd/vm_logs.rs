//! `berth logs --vm [-f]`: the guest console of the current (or last) boot.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;
use std::time::Duration;

use berth_api::Berth;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the VM's console (the only log source for now)
    #[arg(long)]
    vm: bool,
    /// Keep printing as the console grows
    #[arg(short, long)]
    follow: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.vm {
        anyhow::bail!("say which log: `berth logs --vm`");
    }
    let berth = Berth::open()?;
    let path = berth.vm_console_log();
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("No VM console log yet ({}).", path.display());
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        file.read_to_end(&mut buf)?;
        out.write_all(&buf)?;
        out.flush()?;
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        // A new boot rotates the file: start over from the new one.
        let current = std::fs::metadata(&path).map(|m| m.ino()).ok();
        if current.is_some_and(|ino| ino != file.metadata().map(|m| m.ino()).unwrap_or(ino)) {
            file = std::fs::File::open(&path)?;
            file.seek(SeekFrom::Start(0))?;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
