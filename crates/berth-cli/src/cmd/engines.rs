//! `berth engines [ls|add|use|rm]`: Berth's own engine, the remote engines added here (ssh or
//! TLS), and every docker context, in one list; `use` makes one the current docker context.

use std::path::PathBuf;
use std::process::ExitCode;

use berth_api::engines::{EngineEntry, TlsFiles};
use berth_api::Berth;

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// List every engine with its kind, endpoint, reachability and version (the default)
    Ls {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Add a remote engine, once it answers: `ssh://[user@]host[:port]` (your ssh config,
    /// keys and agent apply) or `tcp://host:2376` with --tlscacert, --tlscert and --tlskey
    Add {
        name: String,
        address: String,
        /// The CA that signed the engine's certificate
        #[arg(long, requires_all = ["tlscert", "tlskey"])]
        tlscacert: Option<PathBuf>,
        /// Berth's client certificate, signed by a CA the engine trusts
        #[arg(long, requires_all = ["tlscacert", "tlskey"])]
        tlscert: Option<PathBuf>,
        /// The client certificate's key
        #[arg(long, requires_all = ["tlscacert", "tlscert"])]
        tlskey: Option<PathBuf>,
    },
    /// Make an engine the current docker context
    Use { name: String },
    /// Remove a remote engine added in Berth (and the docker context Berth made for it)
    Rm { name: String },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    let engines = berth.engines();
    match args.action.unwrap_or(Action::Ls { json: false }) {
        Action::Ls { json } => {
            let list = engines.list().await?;
            if json {
                output::json(&list)?;
            } else {
                print_table(&list);
            }
        }
        Action::Add {
            name,
            address,
            tlscacert,
            tlscert,
            tlskey,
        } => {
            let tls = match (tlscacert, tlscert, tlskey) {
                (Some(ca), Some(cert), Some(key)) => Some(TlsFiles { ca, cert, key }),
                _ => None,
            };
            let added = engines.add(&name, &address, tls).await?;
            let version = added.version.unwrap_or_default();
            println!("Added {name} ({address}): Docker {version} answers.");
            println!("`berth engines use {name}` makes it the current docker context.");
        }
        Action::Use { name } => {
            engines.use_engine(&name)?;
            println!("Current docker context is now {name}.");
        }
        Action::Rm { name } => {
            engines.remove(&name)?;
            println!("Removed {name}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(list: &[EngineEntry]) {
    let rows: Vec<[String; 5]> = list
        .iter()
        .map(|e| {
            let name = if e.current {
                format!("{} *", e.name)
            } else {
                e.name.clone()
            };
            let kind = format!("{:?}", e.kind).to_lowercase();
            let endpoint = if e.tls {
                format!("{} (TLS)", e.endpoint)
            } else {
                e.endpoint.clone()
            };
            let state = match (&e.version, &e.error) {
                _ if e.paused => "paused (wakes when used)".to_string(),
                (Some(v), _) => format!("reachable, Docker {v}"),
                (None, Some(err)) => format!("unreachable: {}", err.message),
                (None, None) => "unreachable".into(),
            };
            let access = if e.read_only { "read-only" } else { "" }.to_string();
            [name, kind, endpoint, access, state]
        })
        .collect();
    let header = ["NAME", "KIND", "ENDPOINT", "", "STATE"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
