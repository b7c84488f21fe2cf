//! `berth compose ...`: the command line, with `docker compose`'s flags and output habits.
//! The `berth` binary only hooks [`Args`] into its command enum and calls [`run`].

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::{Endpoint, Engine, LogOptions};
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::StreamExt;

use berth_compose::plan::{Recreate, UpOptions};
use berth_compose::runner::{Compose, CredentialsFn, DownOptions, Event, Rmi, UpRun};
use berth_compose::Project;
use berth_compose::{load, LoadOptions};
use berth_compose::{Error, Result};

/// Define and run multi-container applications (the Compose Specification).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Compose configuration files (default: compose.yaml, ... in this directory or a parent)
    #[arg(short = 'f', long = "file")]
    pub files: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
    /// Alternate working directory (default: the first file's directory)
    #[arg(long)]
    pub project_directory: Option<PathBuf>,
    /// Alternate environment files (default: <project dir>/.env)
    #[arg(long = "env-file")]
    pub env_files: Vec<PathBuf>,
    /// Enable a profile
    #[arg(long = "profile")]
    pub profiles: Vec<String>,
    /// Engine to talk to (like docker's -H); default: DOCKER_HOST, then the docker context
    #[arg(short = 'H', long = "host")]
    pub host: Option<String>,
    /// Docker context to use
    #[arg(long)]
    pub context: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Parse, resolve and render the compose file in canonical format
    Config(ConfigArgs),
    /// Create and start containers
    Up(UpArgs),
    /// Stop and remove containers, networks (and volumes with -v)
    Down(DownArgs),
    /// List containers
    Ps(PsArgs),
    /// List running compose projects
    Ls(LsArgs),
    /// View output from containers
    Logs(LogsArgs),
    /// Start services
    Start(ServiceArgs),
    /// Stop services
    Stop(StopArgs),
    /// Restart services
    Restart(StopArgs),
    /// Pull service images
    Pull(ServiceArgs),
    /// Build or rebuild services
    Build(ServiceArgs),
    /// Run a one-off command on a service
    Run(RunArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Show the compose version
    Version,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Only validate the configuration, print nothing
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the config hash of these services ("*" for all, or a comma-separated list), as
    /// `docker compose config --hash` does
    #[arg(long, value_name = "SERVICES")]
    pub hash: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
    Table,
}

#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Detached mode: run containers in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Wait for services to be running|healthy (implies detached mode)
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy
    #[arg(long)]
    pub wait_timeout: Option<u64>,
    /// Recreate containers even if their configuration hasn't changed
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Don't recreate containers that already exist
    #[arg(long)]
    pub no_recreate: bool,
    /// Don't start the services after creating them
    #[arg(long)]
    pub no_start: bool,
    /// Remove containers for services not defined in the compose file
    #[arg(long, env = "COMPOSE_REMOVE_ORPHANS", value_parser = clap::builder::BoolishValueParser::new())]
    pub remove_orphans: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DownArgs {
    /// Remove named volumes declared in the volumes section and anonymous volumes
    #[arg(short, long)]
    pub volumes: bool,
    /// Remove images used by services: "local" (built ones) or "all"
    #[arg(long, value_enum)]
    pub rmi: Option<RmiArg>,
    /// Remove containers for services not defined in the compose file
    #[arg(long, env = "COMPOSE_REMOVE_ORPHANS", value_parser = clap::builder::BoolishValueParser::new())]
    pub remove_orphans: bool,
    /// Shutdown timeout in seconds
    #[arg(short, long)]
    pub timeout: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RmiArg {
    Local,
    All,
}

#[derive(Debug, Clone, clap::Args)]
pub struct PsArgs {
    /// Show all stopped containers too
    #[arg(short, long)]
    pub all: bool,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display services
    #[arg(long)]
    pub services: bool,
    /// Output format: table or json
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    pub service: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LsArgs {
    /// Show all stopped compose projects
    #[arg(short, long)]
    pub all: bool,
    /// Only display project names
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format: table or json
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(short = 'n', long)]
    pub tail: Option<String>,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Produce monochrome output
    #[arg(long)]
    pub no_color: bool,
    /// Don't print prefix in logs
    #[arg(long)]
    pub no_log_prefix: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServiceArgs {
    pub services: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StopArgs {
    /// Specify a shutdown timeout in seconds
    #[arg(short, long)]
    pub timeout: Option<i32>,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Run container in background (not supported yet)
    #[arg(short, long)]
    pub detach: bool,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ExecArgs {
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Disable pseudo-TTY allocation (always the case here; accepted for compatibility)
    #[arg(short = 'T', long)]
    pub no_tty: bool,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// `docker-compose`-style top-level parser, for the docker CLI plugin mode.
#[derive(Debug, Parser)]
#[command(name = "docker compose", version)]
pub struct PluginCli {
    #[command(flatten)]
    pub args: Args,
}

/// Registry credentials as the docker CLI finds them (`config.json`, its helpers): what the
/// plugin uses when the docker CLI runs it.
pub fn credentials_from_docker_config() -> CredentialsFn {
    berth_compose::docker_credentials::from_docker_config()
}

/// The answer to `docker-cli-plugin-metadata`.
pub fn plugin_metadata() -> String {
    serde_json::json!({
        "SchemaVersion": "0.1.0",
        "Vendor": "Berth",
        "Version": env!("CARGO_PKG_VERSION"),
        "ShortDescription": "Docker Compose (Berth's native engine)",
    })
    .to_string()
}

impl Args {
    fn load_options(&self, services: &[String]) -> LoadOptions {
        LoadOptions {
            files: self.files.clone(),
            project_name: self.project_name.clone(),
            project_dir: self.project_directory.clone(),
            env_files: self.env_files.clone(),
            profiles: self.profiles.clone(),
            services: services.to_vec(),
            ..LoadOptions::from_process()
        }
    }

    fn load(&self, services: &[String]) -> Result<Project> {
        let project = load(&self.load_options(services))?;
        for w in &project.warnings {
            eprintln!("WARN[0000] {w}");
        }
        Ok(project)
    }

    /// The project name without needing a file when `-p` is given (as compose does).
    fn project_name(&self) -> Result<(String, Option<Project>)> {
        match self.load(&[]) {
            Ok(p) => Ok((p.name.clone(), Some(p))),
            Err(e) => match (&self.project_name, &e) {
                (Some(name), Error::Load(berth_compose::LoadError::Project { .. })) => {
                    Ok((name.clone(), None))
                }
                _ => Err(e),
            },
        }
    }

    fn endpoint(&self, default: Option<Endpoint>) -> Endpoint {
        if let Some(h) = &self.host {
            return Endpoint::Host(h.clone());
        }
        if let Some(c) = &self.context {
            return Endpoint::Context(c.clone());
        }
        let env_set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
        match default {
            Some(d) if !env_set("DOCKER_HOST") && !env_set("DOCKER_CONTEXT") => d,
            _ => Endpoint::from_env(),
        }
    }
}

fn progress_printer() -> Arc<dyn Fn(Event) + Send + Sync> {
    Arc::new(|e: Event| {
        let mark = match &e {
            Event::Warning { .. } => "",
            _ => " \u{2714} ",
        };
        eprintln!("{mark}{e}");
    })
}

/// Runs a compose command; returns the process exit code. `default_endpoint` is the engine
/// used when neither `-H`, `--context`, `DOCKER_HOST` nor `DOCKER_CONTEXT` says otherwise;
/// `credentials` finds what `pull` and `up` send the registry of each image.
pub async fn run(
    args: Args,
    default_endpoint: Option<Endpoint>,
    credentials: Option<CredentialsFn>,
) -> Result<u8> {
    if let Command::Config(c) = &args.command {
        return config(&args, c);
    }
    if let Command::Version = &args.command {
        println!("Berth Compose version v{}", env!("CARGO_PKG_VERSION"));
        return Ok(0);
    }
    let endpoint = args.endpoint(default_endpoint);
    let engine = Engine::connect(&endpoint).await?;
    run_with_engine(args, engine, credentials).await
}

/// [`run`] on an engine already connected.
pub async fn run_with_engine(
    args: Args,
    engine: Engine,
    credentials: Option<CredentialsFn>,
) -> Result<u8> {
    let mut compose = Compose::new(engine).with_progress(progress_printer());
    if let Some(credentials) = credentials {
        compose = compose.with_credentials(credentials);
    }
    match &args.command {
        Command::Config(c) => config(&args, c),
        Command::Version => Ok(0),
        Command::Up(u) => up(&args, u, &compose).await,
        Command::Down(d) => {
            let (name, project) = args.project_name()?;
            let opts = DownOptions {
                volumes: d.volumes,
                rmi: d.rmi.map(|r| match r {
                    RmiArg::Local => Rmi::Local,
                    RmiArg::All => Rmi::All,
                }),
                remove_orphans: d.remove_orphans,
                timeout: d.timeout,
            };
            compose.down(&name, project.as_ref(), &opts).await?;
            Ok(0)
        }
        Command::Ps(p) => ps(&args, p, &compose).await,
        Command::Ls(l) => ls(l, &compose).await,
        Command::Logs(l) => logs(&args, l, &compose).await,
        Command::Start(s) => {
            let project = args.load(&s.services)?;
            compose.start(&project, &s.services).await?;
            Ok(0)
        }
        Command::Stop(s) => {
            let (name, _) = args.project_name()?;
            compose.stop(&name, &s.services, s.timeout).await?;
            Ok(0)
        }
        Command::Restart(s) => {
            let project = args.load(&s.services)?;
            compose.restart(&project, &s.services, s.timeout).await?;
            Ok(0)
        }
        Command::Pull(s) => {
            let project = args.load(&s.services)?;
            for svc in project.services.values() {
                if !s.services.is_empty() && !s.services.contains(&svc.name) {
                    continue;
                }
                if let Some(image) = &svc.image {
                    compose.pull_image(image).await?;
                }
            }
            Ok(0)
        }
        Command::Build(s) => {
            let project = args.load(&s.services)?;
            for svc in project.services.values() {
                if s.services.is_empty() || s.services.contains(&svc.name) {
                    compose.build_service(&project, svc).await?;
                }
            }
            Ok(0)
        }
        Command::Run(r) => {
            if r.detach {
                return Err(Error::usage("run --detach is not supported by berth yet"));
            }
            let project = args.load(std::slice::from_ref(&r.service))?;
            let cmd = (!r.command.is_empty()).then(|| r.command.clone());
            let code = compose
                .run(&project, &r.service, cmd, r.rm, std::io::stdout())
                .await?;
            Ok(u8::try_from(code).unwrap_or(1))
        }
        Command::Exec(x) => {
            let (name, _) = args.project_name()?;
            let code = compose
                .exec(
                    &name,
                    &x.service,
                    x.index,
                    x.command.clone(),
                    std::io::stdout(),
                )
                .await?;
            Ok(u8::try_from(code).unwrap_or(1))
        }
    }
}

fn config(args: &Args, c: &ConfigArgs) -> Result<u8> {
    let project = args.load(&[])?;
    if c.quiet {
        return Ok(0);
    }
    if let Some(selector) = &c.hash {
        for (name, hash) in config_hashes(&project, selector)? {
            println!("{name} {hash}");
        }
    } else if c.services {
        for s in project.services.keys() {
            println!("{s}");
        }
    } else if c.volumes {
        for v in project.volumes.keys() {
            println!("{v}");
        }
    } else if c.format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&project).unwrap_or_default()
        );
    } else {
        print!("{}", project.to_yaml());
    }
    Ok(0)
}

async fn up(args: &Args, u: &UpArgs, compose: &Compose) -> Result<u8> {
    let project = args.load(&u.services)?;
    let opts = UpRun {
        plan: UpOptions {
            services: u.services.clone(),
            recreate: if u.force_recreate {
                Recreate::Always
            } else if u.no_recreate {
                Recreate::Never
            } else {
                Recreate::Diverged
            },
            remove_orphans: u.remove_orphans,
            start: !u.no_start,
        },
        build: u.build,
        wait: u.wait,
        timeout: Duration::from_secs(u.wait_timeout.unwrap_or(300)),
    };
    compose.up(&project, &opts).await?;
    if u.detach || u.wait || u.no_start {
        return Ok(0);
    }
    // Attached mode: follow the logs until Ctrl-C, then stop the project. Services with
    // `attach: false` are not followed unless named.
    let services: Vec<String> = berth_compose::plan::selected_services(&project, &u.services)
        .into_iter()
        .filter(|name| {
            u.services.contains(name)
                || project.services.get(name).and_then(|s| s.attach) != Some(false)
        })
        .collect();
    let follow = LogsArgs {
        follow: true,
        tail: None,
        timestamps: false,
        no_color: false,
        no_log_prefix: false,
        services,
    };
    // Nothing to follow (every service has `attach: false`): wait for Ctrl-C alone.
    let followed = async {
        if follow.services.is_empty() {
            std::future::pending::<Result<u8>>().await
        } else {
            logs(args, &follow, compose).await
        }
    };
    tokio::select! {
        r = followed => { r?; }
        _ = tokio::signal::ctrl_c() => {
            eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
        }
    }
    compose.stop(&project.name, &u.services, None).await?;
    Ok(0)
}

async fn ps(args: &Args, p: &PsArgs, compose: &Compose) -> Result<u8> {
    let (name, _) = args.project_name()?;
    let list: Vec<_> = compose
        .ps(&name, p.all)
        .await?
        .into_iter()
        .filter(|c| p.service.is_empty() || p.service.contains(&c.service))
        .collect();
    let mut out = std::io::stdout().lock();
    if p.quiet {
        for c in &list {
            let _ = writeln!(out, "{}", c.id);
        }
    } else if p.services {
        let mut seen = Vec::new();
        for c in &list {
            if !seen.contains(&c.service) {
                let _ = writeln!(out, "{}", c.service);
                seen.push(c.service.clone());
            }
        }
    } else if p.format == Format::Json {
        for c in &list {
            let _ = writeln!(out, "{}", serde_json::to_string(c).unwrap_or_default());
        }
    } else {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|c| {
                let ports = c
                    .publishers
                    .iter()
                    .map(|p| {
                        if p.published_port > 0 {
                            format!(
                                "{}:{}->{}/{}",
                                p.url, p.published_port, p.target_port, p.protocol
                            )
                        } else {
                            format!("{}/{}", p.target_port, p.protocol)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![
                    c.name.clone(),
                    c.image.clone(),
                    format!("{:?}", c.command),
                    c.service.clone(),
                    c.status.clone(),
                    ports,
                ]
            })
            .collect();
        table(
            &mut out,
            &["NAME", "IMAGE", "COMMAND", "SERVICE", "STATUS", "PORTS"],
            &rows,
        );
    }
    Ok(0)
}

async fn ls(l: &LsArgs, compose: &Compose) -> Result<u8> {
    let projects = compose.list_projects(l.all).await?;
    let mut out = std::io::stdout().lock();
    if l.quiet {
        for p in &projects {
            let _ = writeln!(out, "{}", p.name);
        }
    } else if l.format == Format::Json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&projects).unwrap_or_default()
        );
    } else {
        let rows: Vec<Vec<String>> = projects
            .iter()
            .map(|p| vec![p.name.clone(), p.status.clone(), p.config_files.clone()])
            .collect();
        table(&mut out, &["NAME", "STATUS", "CONFIG FILES"], &rows);
    }
    Ok(0)
}

fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        s
    };
    let _ = writeln!(
        out,
        "{}",
        line(header.iter().map(|h| h.to_string()).collect())
    );
    for r in rows {
        let _ = writeln!(out, "{}", line(r.clone()));
    }
}

const COLORS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

async fn logs(args: &Args, l: &LogsArgs, compose: &Compose) -> Result<u8> {
    let (name, _) = args.project_name()?;
    let containers: Vec<String> = compose
        .ps(&name, true)
        .await?
        .into_iter()
        .filter(|c| l.services.is_empty() || l.services.contains(&c.service))
        .map(|c| c.name)
        .collect();
    let color = !l.no_color && std::io::stdout().is_terminal();
    let width = containers.iter().map(String::len).max().unwrap_or(0);
    let prefix = |container: &str| {
        let i = containers.iter().position(|c| c == container).unwrap_or(0);
        if l.no_log_prefix {
            String::new()
        } else if color {
            format!(
                "\x1b[{}m{container:<width$} |\x1b[0m ",
                COLORS[i % COLORS.len()]
            )
        } else {
            format!("{container:<width$} | ")
        }
    };
    let tail = match l.tail.as_deref() {
        None | Some("all") => None,
        Some(n) => Some(
            n.parse::<u64>()
                .map_err(|_| Error::usage(format!("invalid --tail value {n:?}")))?,
        ),
    };
    let opts = LogOptions {
        follow: l.follow,
        timestamps: l.timestamps,
        tail,
        ..Default::default()
    };
    let mut merged = Box::pin(compose.logs(&name, &l.services, &opts).await?);
    // Chunks may split lines: print whole lines, each with its container's prefix.
    let mut partial: std::collections::HashMap<String, String> = Default::default();
    while let Some(item) = merged.next().await {
        let buf = partial.entry(item.container.clone()).or_default();
        buf.push_str(&item.line.text);
        let mut out = std::io::stdout().lock();
        while let Some(i) = buf.find('\n') {
            let text: String = buf.drain(..=i).collect();
            let ts = item
                .line
                .timestamp
                .as_deref()
                .map(|t| format!("{t} "))
                .unwrap_or_default();
            let _ = write!(out, "{}{ts}{text}", prefix(&item.container));
        }
        let _ = out.flush();
    }
    for (container, rest) in partial {
        if !rest.is_empty() {
            println!("{}{rest}", prefix(&container));
        }
    }
    Ok(0)
}

/// `config --hash`: each selected service with its config hash, by name.
fn config_hashes(project: &Project, selector: &str) -> Result<Vec<(String, String)>> {
    let names: Vec<&str> = if selector == "*" {
        project.services.keys().map(String::as_str).collect()
    } else {
        selector.split(',').map(str::trim).collect()
    };
    names
        .into_iter()
        .map(|name| match project.services.get(name) {
            Some(s) => Ok((name.to_string(), s.config_hash())),
            None => Err(Error::usage(format!("no such service: {name}"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn config_hash_prints_the_selected_services() {
        let project = berth_compose::load_sources(
            vec![(
                "/p/compose.yaml".into(),
                "services:\n  web:\n    image: busybox\n  db:\n    image: busybox\n".into(),
            )],
            &berth_compose::LoadOptions {
                working_dir: "/p".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let all = config_hashes(&project, "*").unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], ("db".into(), project.services["db"].config_hash()));
        let one = config_hashes(&project, "web").unwrap();
        assert_eq!(one, [("web".into(), project.services["web"].config_hash())]);
        assert!(config_hashes(&project, "web,nope").is_err());
        let cli = PluginCli::try_parse_from(["docker compose", "config", "--hash", "*"]).unwrap();
        assert!(
            matches!(cli.args.command, Command::Config(ConfigArgs { hash: Some(h), .. }) if h == "*")
        );
    }

    #[test]
    fn the_command_line_parses_like_docker_compose() {
        PluginCli::command().debug_assert();
        let cli = PluginCli::try_parse_from([
            "docker compose",
            "-f",
            "a.yaml",
            "-p",
            "demo",
            "up",
            "-d",
            "--build",
            "web",
        ])
        .unwrap();
        assert_eq!(cli.args.files, [PathBuf::from("a.yaml")]);
        match cli.args.command {
            Command::Up(u) => {
                assert!(u.detach && u.build);
                assert_eq!(u.services, ["web"]);
            }
            other => panic!("{other:?}"),
        }
        let cli =
            PluginCli::try_parse_from(["docker compose", "run", "--rm", "web", "sh", "-c", "x"])
                .unwrap();
        match cli.args.command {
            Command::Run(r) => assert_eq!(r.command, ["sh", "-c", "x"]),
            other => panic!("{other:?}"),
        }
        let cli =
            PluginCli::try_parse_from(["docker compose", "down", "-v", "--rmi", "local"]).unwrap();
        assert!(matches!(
            cli.args.command,
            Command::Down(DownArgs {
                volumes: true,
                rmi: Some(RmiArg::Local),
                ..
            })
        ));
    }

    #[test]
    fn plugin_metadata_is_the_docker_cli_protocol() {
        let v: serde_json::Value = serde_json::from_str(&plugin_metadata()).unwrap();
        assert_eq!(v["SchemaVersion"], "0.1.0");
        assert_eq!(v["Vendor"], "Berth");
    }
}
