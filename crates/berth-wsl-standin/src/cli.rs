//! `wsl.exe`'s command line, as its documentation (`wsl --help`) describes it: the management
//! verbs, and running a command in a distribution (`-d`, `-u`, `--cd`, `--exec` or `--`).
//! Anything else is refused with wsl.exe's own words.

/// One invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `--import <Distro> <InstallLocation> <FileName> [--version <Version>]`
    Import {
        distro: String,
        install_dir: String,
        tar: String,
        version: u8,
    },
    /// `--list|-l [--verbose|-v] [--all] [--running] [--quiet|-q]`
    List {
        verbose: bool,
        quiet: bool,
        running: bool,
    },
    /// `--terminate|-t <Distro>`
    Terminate { distro: String },
    /// `--unregister <Distro>`
    Unregister { distro: String },
    /// `--shutdown`
    Shutdown,
    /// `--status`
    Status,
    /// `--version|-v`
    Version,
    /// `[-d <Distro>] [-u <User>] [--cd <Dir>] [--exec <argv...> | -- <command line...>]`
    Run(RunArgs),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunArgs {
    /// `None`: the default distribution.
    pub distro: Option<String>,
    pub user: Option<String>,
    pub cd: Option<String>,
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Command {
    /// No command: the user's login shell.
    #[default]
    Shell,
    /// `--exec`: the program and its arguments, no shell.
    Exec(Vec<String>),
    /// `--` (or a bare command line): given to the distribution's shell as one line.
    Line(Vec<String>),
}

/// wsl.exe's own text for a command line it does not take.
pub fn invalid(arg: &str) -> String {
    format!(
        "Invalid command line argument: {arg}\nPlease use 'wsl.exe --help' to get a list of \
         supported arguments.\nError code: Wsl/E_INVALIDARG"
    )
}

fn missing(option: &str) -> String {
    format!(
        "Command line argument {option} requires a value.\nPlease use 'wsl.exe --help' to get \
         a list of supported arguments.\nError code: Wsl/E_INVALIDARG"
    )
}

pub fn parse(args: &[String]) -> Result<Verb, String> {
    let mut it = args.iter().map(String::as_str).peekable();
    let Some(&first) = it.peek() else {
        return Ok(Verb::Run(RunArgs::default()));
    };
    let value = |it: &mut std::iter::Peekable<_>, option: &str| -> Result<String, String> {
        it.next();
        it.next()
            .map(|v: &str| v.to_owned())
            .ok_or_else(|| missing(option))
    };
    match first {
        "--import" => {
            it.next();
            let mut positional = Vec::new();
            let mut version = 2;
            while let Some(arg) = it.next() {
                match arg {
                    "--version" => {
                        let v = it.next().ok_or_else(|| missing("--version"))?;
                        version = match v {
                            "1" => 1,
                            "2" => 2,
                            _ => return Err(invalid(v)),
                        };
                    }
                    "--vhd" => return Err(invalid(arg)),
                    _ if positional.len() < 3 => positional.push(arg.to_owned()),
                    _ => return Err(invalid(arg)),
                }
            }
            let [distro, install_dir, tar]: [String; 3] =
                positional.try_into().map_err(|_| missing("--import"))?;
            Ok(Verb::Import {
                distro,
                install_dir,
                tar,
                version,
            })
        }
        "--list" | "-l" => {
            it.next();
            let (mut verbose, mut quiet, mut running) = (false, false, false);
            for arg in it {
                match arg {
                    "--verbose" | "-v" => verbose = true,
                    "--quiet" | "-q" => quiet = true,
                    "--running" => running = true,
                    "--all" => {}
                    _ => return Err(invalid(arg)),
                }
            }
            Ok(Verb::List {
                verbose,
                quiet,
                running,
            })
        }
        "--terminate" | "-t" => {
            let distro = value(&mut it, first)?;
            only(it, Verb::Terminate { distro })
        }
        "--unregister" => {
            let distro = value(&mut it, first)?;
            only(it, Verb::Unregister { distro })
        }
        "--shutdown" => {
            it.next();
            only(it, Verb::Shutdown)
        }
        "--status" => {
            it.next();
            only(it, Verb::Status)
        }
        "--version" | "-v" => {
            it.next();
            only(it, Verb::Version)
        }
        _ => parse_run(it).map(Verb::Run),
    }
}

fn only<'a>(mut rest: impl Iterator<Item = &'a str>, verb: Verb) -> Result<Verb, String> {
    match rest.next() {
        Some(extra) => Err(invalid(extra)),
        None => Ok(verb),
    }
}

fn parse_run<'a>(mut it: impl Iterator<Item = &'a str>) -> Result<RunArgs, String> {
    let mut run = RunArgs::default();
    while let Some(arg) = it.next() {
        let mut take = |option: &str| it.next().map(str::to_owned).ok_or_else(|| missing(option));
        match arg {
            "-d" | "--distribution" => run.distro = Some(take(arg)?),
            "-u" | "--user" => run.user = Some(take(arg)?),
            "--cd" => run.cd = Some(take(arg)?),
            "-e" | "--exec" => {
                let argv: Vec<String> = it.map(str::to_owned).collect();
                if argv.is_empty() {
                    return Err(missing(arg));
                }
                run.command = Command::Exec(argv);
                return Ok(run);
            }
            "--" => {
                run.command = Command::Line(it.map(str::to_owned).collect());
                return Ok(run);
            }
            _ if arg.starts_with('-') => return Err(invalid(arg)),
            // A bare command line: everything from here on, through the shell.
            _ => {
                let mut line = vec![arg.to_owned()];
                line.extend(it.map(str::to_owned));
                run.command = Command::Line(line);
                return Ok(run);
            }
        }
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Verb, String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        parse(&args)
    }

    #[test]
    fn the_verbs_berths_backend_uses() {
        assert_eq!(
            parse_str(r"--import berth C:\b\wsl C:\b\rootfs.tar --version 2").unwrap(),
            Verb::Import {
                distro: "berth".into(),
                install_dir: r"C:\b\wsl".into(),
                tar: r"C:\b\rootfs.tar".into(),
                version: 2
            }
        );
        assert_eq!(
            parse_str("--list --verbose").unwrap(),
            Verb::List {
                verbose: true,
                quiet: false,
                running: false
            }
        );
        assert_eq!(
            parse_str("-l -v").unwrap(),
            parse_str("--list --verbose").unwrap()
        );
        assert_eq!(
            parse_str("--terminate berth").unwrap(),
            Verb::Terminate {
                distro: "berth".into()
            }
        );
        assert_eq!(
            parse_str("-d berth -u root --exec /a b --stdio").unwrap(),
            Verb::Run(RunArgs {
                distro: Some("berth".into()),
                user: Some("root".into()),
                cd: None,
                command: Command::Exec(vec!["/a".into(), "b".into(), "--stdio".into()]),
            })
        );
        assert_eq!(
            parse_str("-d berth -- echo $HOME").unwrap(),
            Verb::Run(RunArgs {
                distro: Some("berth".into()),
                command: Command::Line(vec!["echo".into(), "$HOME".into()]),
                ..RunArgs::default()
            })
        );
        assert_eq!(parse_str("").unwrap(), Verb::Run(RunArgs::default()));
        assert_eq!(parse_str("-v").unwrap(), Verb::Version);
    }

    #[test]
    fn what_wsl_exe_refuses_is_refused_with_its_words() {
        let err = parse_str("--bogus").unwrap_err();
        assert!(
            err.starts_with("Invalid command line argument: --bogus"),
            "{err}"
        );
        assert!(err.contains("Wsl/E_INVALIDARG"), "{err}");
        let err = parse_str("-d").unwrap_err();
        assert!(err.contains("-d requires a value"), "{err}");
        assert!(parse_str("--import berth C:\\x").is_err());
        assert!(parse_str("--import berth a b --version 3").is_err());
        assert!(parse_str("--terminate").is_err());
        assert!(parse_str("--shutdown now").is_err());
        assert!(parse_str("-d berth --exec").is_err());
        assert!(parse_str("--list --wide").is_err());
    }
}
