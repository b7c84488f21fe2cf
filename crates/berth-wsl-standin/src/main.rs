//! `wsl.exe` for Linux, built from real parts, so Berth's WSL backend runs end to end off
//! Windows: `--import` unpacks the distribution's tarball, `-d NAME [-u USER] --exec|-- ...`
//! runs a command in it with the caller's stdio (starting it first: its own mount, PID, UTS,
//! IPC, cgroup and network namespaces, booted by its `/etc/wsl.conf` as WSL does), and
//! `--list --verbose`, `--terminate`, `--unregister`, `--shutdown`, `--status`, `--version`
//! answer as wsl.exe does, its management output in UTF-16LE.
//!
//! What it does not do: WSL 1, `--vhd` imports, `.wslconfig` (there is no VM to size), the
//! distribution's idle shutdown, Windows interop. Needs root (namespaces, mounts, chroot).

mod cli;
mod distro;
mod init;
mod registry;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The distribution's init, run by `unshare` inside its namespaces (see `distro::start`).
    if let [mode, name, root] = &args[..] {
        if mode == "__init" {
            return match init::run(name, std::path::Path::new(root)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("berth-wsl-standin init: {err}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    match cli::parse(&args) {
        Ok(verb) => distro::carry_out(verb),
        Err(err) => distro::fail(&err),
    }
}
