//! `berth pause` and `berth wake`: Resource Saver by hand. A paused engine costs no CPU and
//! gives its memory back; the next `docker` command (or a request to a published port) wakes
//! it by itself, so `wake` is only needed to skip that first delay.

use std::process::ExitCode;

use berth_api::Berth;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn pause(_args: Args) -> anyhow::Result<ExitCode> {
    Berth::open()?.pause_engine().await?;
    println!("Engine paused: the next docker command or published-port connection wakes it.");
    Ok(ExitCode::SUCCESS)
}

pub async fn wake(_args: Args) -> anyhow::Result<ExitCode> {
    let status = Berth::open()?.wake_engine().await?;
    println!("Engine {}.", status.state.name());
    Ok(ExitCode::SUCCESS)
}
