//! The `wsl.exe` commands of the Windows backend as plain data: each is a [`WslCommand`] with a
//! pure [`WslCommand::to_args`], so the whole backend's command surface is tested on any OS.

use std::path::PathBuf;

/// The distro name Berth registers.
pub const DISTRO: &str = "berth";

use super::paths::{DistroPaths, HostFiles, PathError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WslCommand {
    /// `wsl.exe --import <name> <install dir> <rootfs.tar> --version 2`
    Import {
        distro: String,
        install_dir: PathBuf,
        rootfs_tar: PathBuf,
    },
    /// The long-lived process whose stdio carries the link:
    /// `wsl.exe -d <name> -u root --exec <agent> serve --stdio`, where `<agent>` is the Linux
    /// agent shipped in Berth's Windows install, seen through the distro's `/mnt/<drive>` (so an
    /// upgrade of Berth upgrades the agent without re-importing the distro and its data).
    ///
    /// `--exec`, not `--`: after `--` wsl.exe hands the rest of its command line, as text, to
    /// the distro's shell, which re-splits and expands it (`C:\Program Files (x86)` or a `$` in
    /// a user name); `--exec` runs the program with the arguments wsl.exe itself parsed (the
    /// quoting Rust's `Command` writes on Windows), so the path arrives as one argument.
    RunAgent { distro: String, agent: String },
    /// `wsl.exe --terminate <name>`: stops the distro (and the agent with it).
    Terminate { distro: String },
    /// `wsl.exe --unregister <name>`: deletes the distro and its virtual disk.
    Unregister { distro: String },
    /// `wsl.exe --list --verbose`: the table [`super::output::parse_list`] reads.
    ListVerbose,
    /// `wsl.exe --status`
    Status,
    /// `wsl.exe -d <name> -u root --exec <argv>`: one command inside the distro, no shell.
    Exec { distro: String, argv: Vec<String> },
}

impl WslCommand {
    /// The argv after `wsl.exe`.
    pub fn to_args(&self) -> Vec<String> {
        let s = |v: &str| v.to_owned();
        match self {
            WslCommand::Import {
                distro,
                install_dir,
                rootfs_tar,
            } => vec![
                s("--import"),
                distro.clone(),
                install_dir.display().to_string(),
                rootfs_tar.display().to_string(),
                s("--version"),
                s("2"),
            ],
            WslCommand::RunAgent { distro, agent } => vec![
                s("-d"),
                distro.clone(),
                s("-u"),
                s("root"),
                s("--exec"),
                agent.clone(),
                s("serve"),
                s("--stdio"),
            ],
            WslCommand::Terminate { distro } => vec![s("--terminate"), distro.clone()],
            WslCommand::Unregister { distro } => vec![s("--unregister"), distro.clone()],
            WslCommand::ListVerbose => vec![s("--list"), s("--verbose")],
            WslCommand::Status => vec![s("--status")],
            WslCommand::Exec { distro, argv } => {
                let mut args = vec![s("-d"), distro.clone(), s("-u"), s("root"), s("--exec")];
                args.extend(argv.iter().cloned());
                args
            }
        }
    }

    /// Whether `wsl.exe` prints this command's output as UTF-16 (its management verbs do; the
    /// output of a program run inside the distro is that program's own bytes).
    pub fn prints_utf16(&self) -> bool {
        !matches!(self, WslCommand::RunAgent { .. } | WslCommand::Exec { .. })
    }
}

/// Everything the Windows backend needs to know to drive one distro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WslSpec {
    pub distro: String,
    /// `%LOCALAPPDATA%\Berth\wsl`: where WSL keeps the distro's `ext4.vhdx`.
    pub install_dir: PathBuf,
    /// The guest root as a tarball (the same packages as the QEMU image's rootfs).
    pub rootfs_tar: PathBuf,
    /// The Linux `berth-agent` binary in Berth's install, as a Windows path.
    pub agent: PathBuf,
    /// The user's `%UserProfile%\.wslconfig`, where Berth turns on WSL's memory reclaim
    /// ([`super::wslconfig`]); `None` leaves it alone (not on Windows: the stand-in's tests).
    pub wslconfig: Option<PathBuf>,
    /// How the host's files appear in the distro (the agent's path, bind mounts).
    pub host_files: HostFiles,
}

impl WslSpec {
    pub fn import(&self) -> WslCommand {
        WslCommand::Import {
            distro: self.distro.clone(),
            install_dir: self.install_dir.clone(),
            rootfs_tar: self.rootfs_tar.clone(),
        }
    }

    /// The host's paths as the engine in this distro sees them.
    pub fn paths(&self) -> DistroPaths {
        DistroPaths {
            distro: self.distro.clone(),
            host: self.host_files,
        }
    }

    pub fn run_agent(&self) -> Result<WslCommand, PathError> {
        Ok(WslCommand::RunAgent {
            distro: self.distro.clone(),
            agent: self.paths().translate(&self.agent.display().to_string())?,
        })
    }

    pub fn terminate(&self) -> WslCommand {
        WslCommand::Terminate {
            distro: self.distro.clone(),
        }
    }

    pub fn unregister(&self) -> WslCommand {
        WslCommand::Unregister {
            distro: self.distro.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WslSpec {
        WslSpec {
            distro: DISTRO.into(),
            install_dir: PathBuf::from(r"C:\Users\Ada Lovelace\AppData\Local\Berth\wsl"),
            rootfs_tar: PathBuf::from(r"C:\Program Files\Berth\resources\rootfs.tar"),
            agent: PathBuf::from(r"C:\Program Files\Berth\resources\berth-agent"),
            wslconfig: None,
            host_files: HostFiles::WindowsDrives,
        }
    }

    #[test]
    fn golden_commands() {
        let spec = spec();
        assert_eq!(
            spec.import().to_args(),
            [
                "--import",
                "berth",
                r"C:\Users\Ada Lovelace\AppData\Local\Berth\wsl",
                r"C:\Program Files\Berth\resources\rootfs.tar",
                "--version",
                "2"
            ]
        );
        assert_eq!(
            spec.run_agent().unwrap().to_args(),
            [
                "-d",
                "berth",
                "-u",
                "root",
                "--exec",
                "/mnt/c/Program Files/Berth/resources/berth-agent",
                "serve",
                "--stdio"
            ]
        );
        assert_eq!(spec.terminate().to_args(), ["--terminate", "berth"]);
        assert_eq!(spec.unregister().to_args(), ["--unregister", "berth"]);
        assert_eq!(WslCommand::ListVerbose.to_args(), ["--list", "--verbose"]);
        assert_eq!(WslCommand::Status.to_args(), ["--status"]);
        assert_eq!(
            WslCommand::Exec {
                distro: "berth".into(),
                argv: vec!["sync".into()]
            }
            .to_args(),
            ["-d", "berth", "-u", "root", "--exec", "sync"]
        );
    }

    /// The agent's path is one argument whatever it holds: wsl.exe gets it through `--exec`, so
    /// no shell splits it at a space or expands what follows a `$`.
    #[test]
    fn the_agent_path_is_one_argument_after_exec() {
        let mut spec = spec();
        spec.agent = PathBuf::from(r"C:\Program Files (x86)\Bérth $HOME\berth-agent");
        let args = spec.run_agent().unwrap().to_args();
        let exec = args.iter().position(|a| a == "--exec").unwrap();
        assert_eq!(
            args[exec + 1..],
            [
                "/mnt/c/Program Files (x86)/Bérth $HOME/berth-agent",
                "serve",
                "--stdio"
            ]
        );
        assert!(!args.iter().any(|a| a == "--"), "{args:?}");
    }

    #[test]
    fn only_management_verbs_print_utf16() {
        assert!(WslCommand::ListVerbose.prints_utf16());
        assert!(spec().import().prints_utf16());
        assert!(!spec().run_agent().unwrap().prints_utf16());
    }

    #[test]
    fn an_agent_path_wsl_cannot_reach_is_an_error_not_a_guess() {
        let mut spec = spec();
        spec.agent = PathBuf::from(r"C:berth-agent");
        assert!(spec.run_agent().is_err());
    }
}
