//! `berth swarm ...`: the engine's swarm, its nodes, services and tasks, stacks deployed from
//! compose files, secrets and configs, and autoscaling; each a few lines over berth-api.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use berth_api::swarm::stack::{self, LoadOptions};
use berth_api::swarm::{self, autoscale, Availability, SwarmJoin, SwarmObjectKind, TaskSummary};
use berth_api::transport::Engine;
use berth_api::Berth;

use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Make this engine a one-node swarm (its manager)
    Init {
        /// The address other nodes reach this one at (default: the engine chooses)
        #[arg(long)]
        advertise_addr: Option<String>,
    },
    /// Join a swarm as a worker (or manager, with a manager token)
    Join {
        /// A manager's HOST:PORT
        remote: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        advertise_addr: Option<String>,
    },
    /// Print the token another engine joins this swarm with
    JoinToken {
        #[arg(value_enum, default_value = "worker")]
        role: Role,
    },
    /// Leave the swarm (--force for the last manager)
    Leave {
        #[arg(long, short)]
        force: bool,
    },
    /// List the swarm's nodes
    Nodes {
        #[arg(long)]
        json: bool,
    },
    /// Drain, pause or activate a node (by id or hostname)
    Node {
        node: String,
        #[arg(long, value_enum)]
        availability: AvailabilityArg,
    },
    /// List the services
    Services {
        #[arg(long)]
        json: bool,
    },
    /// List a service's tasks (or a stack's, with --stack)
    Ps {
        /// The service (or, with --stack, the stack)
        name: String,
        #[arg(long)]
        stack: bool,
        #[arg(long)]
        json: bool,
    },
    /// Set replicas: SERVICE=N ...
    Scale {
        #[arg(required = true, value_name = "SERVICE=N")]
        targets: Vec<String>,
    },
    /// Roll a service over to another image
    Update {
        service: String,
        #[arg(long)]
        image: String,
    },
    /// Go back to a service's previous spec
    Rollback { service: String },
    /// Deploy (or update) a stack from compose files
    Deploy {
        /// A compose file; repeat to merge several, in order
        #[arg(short = 'c', long = "compose-file", required = true)]
        files: Vec<PathBuf>,
        /// Remove the stack's services the files no longer have
        #[arg(long)]
        prune: bool,
        stack: String,
    },
    /// List the stacks (Berth's and the docker CLI's)
    Stacks {
        #[arg(long)]
        json: bool,
    },
    /// Remove a stack: its services, networks, secrets and configs
    Rm { stack: String },
    /// Secrets: create NAME FILE (- for stdin), ls, rm NAME
    Secret {
        #[command(subcommand)]
        command: ObjectCommand,
    },
    /// Configs: create NAME FILE (- for stdin), ls, rm NAME
    Config {
        #[command(subcommand)]
        command: ObjectCommand,
    },
    /// Set a service's autoscale rule (or remove it with --off)
    Autoscale(AutoscaleArgs),
    /// Apply the autoscale rules in the foreground until Ctrl-C, printing each decision
    Autoscaler {
        /// Seconds between passes
        #[arg(long, default_value_t = 10)]
        interval: u64,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AvailabilityArg {
    Active,
    Pause,
    Drain,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Role {
    Worker,
    Manager,
}

#[derive(Debug, clap::Subcommand)]
enum ObjectCommand {
    Create { name: String, file: PathBuf },
    Ls,
    Rm { name: String },
}

#[derive(Debug, clap::Args)]
struct AutoscaleArgs {
    service: String,
    #[arg(long, required_unless_present = "off")]
    min: Option<u64>,
    #[arg(long, required_unless_present = "off")]
    max: Option<u64>,
    /// Target CPU per task, in percent of one CPU
    #[arg(long, required_unless_present = "off")]
    cpu: Option<f64>,
    /// Remove the service's rule
    #[arg(long, conflicts_with_all = ["min", "max", "cpu"])]
    off: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open()?;
    if let Command::Autoscale(a) = &args.command {
        return set_autoscale(&berth, a);
    }
    let engine = berth.engine().await?;
    let e = &engine;
    match args.command {
        Command::Init { advertise_addr } => {
            let node = swarm::init(e, advertise_addr.as_deref()).await?;
            println!("Swarm initialized: current node ({node}) is now a manager.");
        }
        Command::Join {
            remote,
            token,
            advertise_addr,
        } => {
            let join = SwarmJoin {
                remote_addr: remote,
                token,
                advertise_addr,
                listen_addr: None,
            };
            swarm::join(e, &join).await?;
            println!("This node joined a swarm.");
        }
        Command::JoinToken { role } => {
            let tokens = swarm::join_tokens(e).await?;
            println!(
                "{}",
                match role {
                    Role::Worker => tokens.worker,
                    Role::Manager => tokens.manager,
                }
            );
        }
        Command::Leave { force } => {
            swarm::leave(e, force).await?;
            println!("Node left the swarm.");
        }
        Command::Nodes { json } => {
            let nodes = swarm::nodes(e).await?;
            if json {
                output::json(&nodes)?;
            } else {
                table(
                    &[
                        "ID",
                        "HOSTNAME",
                        "STATUS",
                        "AVAILABILITY",
                        "MANAGER",
                        "ENGINE",
                    ],
                    nodes.iter().map(|n| {
                        let manager = match (n.role.as_str(), n.leader) {
                            ("manager", true) => "Leader",
                            ("manager", false) => "Reachable",
                            _ => "",
                        };
                        vec![
                            short(&n.id),
                            n.hostname.clone(),
                            n.state.clone(),
                            n.availability.clone(),
                            manager.into(),
                            n.engine_version.clone().unwrap_or_default(),
                        ]
                    }),
                );
            }
        }
        Command::Node { node, availability } => {
            let availability = match availability {
                AvailabilityArg::Active => Availability::Active,
                AvailabilityArg::Pause => Availability::Pause,
                AvailabilityArg::Drain => Availability::Drain,
            };
            swarm::set_availability(e, &node, availability).await?;
            println!("{node}");
        }
        Command::Services { json } => {
            let services = swarm::services(e).await?;
            if json {
                output::json(&services)?;
            } else {
                table(
                    &["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS", "UPDATE"],
                    services.iter().map(|s| {
                        vec![
                            short(&s.id),
                            s.name.clone(),
                            s.mode.clone(),
                            format!(
                                "{}/{}",
                                s.running.unwrap_or(0),
                                s.desired.or(s.replicas).unwrap_or(0)
                            ),
                            s.image.clone(),
                            s.ports.join(", "),
                            s.update_state.clone().unwrap_or_default(),
                        ]
                    }),
                );
            }
        }
        Command::Ps { name, stack, json } => {
            let rows: Vec<(String, TaskSummary)> = if stack {
                stack::tasks(e, &name)
                    .await?
                    .into_iter()
                    .map(|t| (t.service, t.task))
                    .collect()
            } else {
                swarm::tasks(e, &name)
                    .await?
                    .into_iter()
                    .map(|t| (name.clone(), t))
                    .collect()
            };
            if json {
                output::json(&rows.iter().map(|(_, t)| t).collect::<Vec<_>>())?;
            } else {
                table(
                    &["ID", "NAME", "IMAGE", "NODE", "DESIRED", "CURRENT", "ERROR"],
                    rows.iter().map(|(service, t)| {
                        vec![
                            short(&t.id),
                            format!("{service}.{}", t.slot.unwrap_or_default()),
                            t.image.clone(),
                            t.node_id.as_deref().map(short).unwrap_or_default(),
                            t.desired_state.clone(),
                            t.state.clone(),
                            t.error.clone().unwrap_or_default(),
                        ]
                    }),
                );
            }
        }
        Command::Scale { targets } => {
            let targets = targets
                .iter()
                .map(|t| swarm::parse_scale(t))
                .collect::<Result<Vec<_>, _>>()?;
            for line in swarm::scale(e, &targets).await? {
                println!("{line}");
            }
        }
        Command::Update { service, image } => {
            swarm::update_image(e, &service, &image).await?;
            println!("{service}: rolling update to {image} started");
        }
        Command::Rollback { service } => {
            swarm::rollback(e, &service).await?;
            println!("{service}: rollback to the previous spec started");
        }
        Command::Deploy {
            files,
            prune,
            stack: name,
        } => {
            let plan = stack::load(&name, &files, LoadOptions::from_process())?;
            for w in &plan.warnings {
                eprintln!("{w}");
            }
            let report = stack::deploy(e, &plan, prune).await?;
            for line in report.actions {
                println!("{line}");
            }
        }
        Command::Stacks { json } => {
            let stacks = stack::list(e).await?;
            if json {
                output::json(&stacks)?;
            } else {
                table(
                    &["NAME", "SERVICES"],
                    stacks
                        .iter()
                        .map(|s| vec![s.name.clone(), s.services.to_string()]),
                );
            }
        }
        Command::Rm { stack: name } => {
            for line in stack::remove(e, &name).await? {
                println!("{line}");
            }
        }
        Command::Secret { command } => object(e, SwarmObjectKind::Secret, command).await?,
        Command::Config { command } => object(e, SwarmObjectKind::Config, command).await?,
        Command::Autoscaler { interval } => {
            let scaler = autoscale::Autoscaler::new(engine.clone(), berth.paths());
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            scaler
                .run(Duration::from_secs(interval.max(1)), stop, |d| {
                    println!(
                        "{} {} {} -> {}: {}",
                        d.at, d.service, d.from, d.to, d.reason
                    )
                })
                .await;
        }
        Command::Autoscale(_) => unreachable!("handled before connecting"),
    }
    Ok(ExitCode::SUCCESS)
}

fn set_autoscale(berth: &Berth, a: &AutoscaleArgs) -> anyhow::Result<ExitCode> {
    let store = autoscale::RuleStore::at(berth.paths());
    if a.off {
        if store.remove(&a.service)? {
            println!("{}: autoscaling off", a.service);
        } else {
            println!("{}: had no autoscale rule", a.service);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(min), Some(max), Some(cpu)) = (a.min, a.max, a.cpu) else {
        anyhow::bail!("autoscale needs --min, --max and --cpu (or --off)");
    };
    let rule = autoscale::AutoscaleRule::new(&a.service, min, max, cpu)?;
    store.set(rule)?;
    println!(
        "{}: {min} to {max} replicas, CPU target {cpu}% (applied by `berth swarm autoscaler`)",
        a.service
    );
    Ok(ExitCode::SUCCESS)
}

async fn object(e: &Engine, kind: SwarmObjectKind, command: ObjectCommand) -> anyhow::Result<()> {
    match command {
        ObjectCommand::Create { name, file } => {
            let data = if file.as_os_str() == "-" {
                let mut data = Vec::new();
                std::io::stdin().read_to_end(&mut data)?;
                data
            } else {
                std::fs::read(&file)
                    .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()))?
            };
            println!("{}", swarm::create_object(e, kind, &name, &data).await?);
        }
        ObjectCommand::Ls => table(
            &["ID", "NAME", "CREATED"],
            swarm::objects(e, kind).await?.iter().map(|o| {
                vec![
                    short(&o.id),
                    o.name.clone(),
                    o.created.clone().unwrap_or_default(),
                ]
            }),
        ),
        ObjectCommand::Rm { name } => {
            swarm::remove_object(e, kind, &name).await?;
            println!("{name}");
        }
    }
    Ok(())
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let rows: Vec<Vec<String>> = rows.collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", text.join("   ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    rows.into_iter().for_each(line);
}
