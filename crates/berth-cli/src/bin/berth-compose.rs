//! `berth-compose`: the compose command line on its own, and the docker CLI plugin.
//! Installed (or linked) as `~/.docker/cli-plugins/docker-compose`, it serves
//! `docker compose ...`: the docker CLI runs it as `docker-compose compose ...`, and asks
//! `docker-compose docker-cli-plugin-metadata` first.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().collect();
    match argv.get(1).map(String::as_str) {
        Some("docker-cli-plugin-metadata") => {
            println!("{}", berth_api::compose_cli::plugin_metadata());
            return ExitCode::SUCCESS;
        }
        Some("compose") => {
            argv.remove(1);
        }
        _ => {}
    }
    let cli = berth_api::compose_cli::PluginCli::parse_from(argv);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("compose: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Run by the docker CLI: credentials as it finds them (Berth's helper, when configured).
    let credentials = berth_api::compose_cli::credentials_from_docker_config();
    match runtime.block_on(berth_api::compose_cli::run(
        cli.args,
        None,
        Some(credentials),
    )) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
