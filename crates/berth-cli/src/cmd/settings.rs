//! `berth settings [get KEY | set KEY VALUE]`: read and change what the user chose. A value is
//! checked before anything is saved (the message names the key); changes to the VM apply at
//! the next engine start.

use std::process::ExitCode;

use berth_api::Berth;
use berth_core::settings::KEYS;

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Print JSON (the whole list, or one key's value)
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Print one setting (e.g. `vm.cpus`)
    Get { key: String },
    /// Change one setting: `vm.cpus 4`, `vm.memory_mib 4096`, `vm.disk_gib 128` (grow only),
    /// `ports.bind_address 0.0.0.0`, `app.auto_restart_engine true`, `shared_folders '["/srv"]'`
    Set { key: String, value: String },
    /// List every setting (the default)
    List,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut berth = Berth::open()?;
    match args.action.unwrap_or(Action::List) {
        Action::List => {
            let rows: Vec<(&str, String)> = KEYS
                .iter()
                .map(|key| {
                    let value = berth.get_setting(key).ok().flatten();
                    (*key, value.unwrap_or_else(|| "(not set)".into()))
                })
                .collect();
            if args.json {
                let map: serde_json::Map<String, serde_json::Value> = rows
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                    .collect();
                output::json(&map)?;
            } else {
                output::fields(&rows);
            }
        }
        Action::Get { key } => match berth.get_setting(&key)? {
            Some(value) if args.json => output::json(&value)?,
            Some(value) => println!("{value}"),
            None => {
                eprintln!("{key} is not set");
                return Ok(ExitCode::from(1));
            }
        },
        Action::Set { key, value } => {
            let change = berth.set_setting(&key, &value)?;
            if args.json {
                output::json(&change)?;
                return Ok(ExitCode::SUCCESS);
            }
            let shown = berth.get_setting(&key)?.unwrap_or_default();
            println!("Saved {key} = {shown}.");
            if !change.restart_needed.is_empty() {
                let running = berth
                    .daemon_status()
                    .await
                    .is_some_and(|s| s.state.is_running());
                if running {
                    println!(
                        "Restart the engine to apply it: `berth restart` (changed: {}).",
                        change.restart_needed.join(", ")
                    );
                } else {
                    println!("It applies when the engine starts.");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
