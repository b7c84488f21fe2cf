//! `berth-vfkit-standin`: vfkit's command line on Linux (see the library's docs). Errors are
//! printed as vfkit prints them (cobra's `Error:` line and usage, then the error again) and end
//! the process with status 1.

use std::process::ExitCode;

use berth_vfkit_standin::cmdline::{self, Options};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match Options::parse(&args) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    if opts.help {
        print!(
            "A hypervisor written in Go using Apple's Virtualization framework to run virtual machines.\n\
             (berth-vfkit-standin: the same command line and REST API, played by QEMU on Linux.)\n\n{}",
            cmdline::usage()
        );
        return ExitCode::SUCCESS;
    }
    if opts.version {
        println!(
            "vfkit version: berth-vfkit-standin {}",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    let vm = match cmdline::vm_configuration(&opts) {
        Ok(vm) => vm,
        Err(e) => return fail(&e),
    };
    // One thread: the children's PR_SET_PDEATHSIG watches the thread that spawned them.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(berth_vfkit_standin::vm::run(vm, &opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(err: &str) -> ExitCode {
    eprint!("{}", cmdline::usage_error(err));
    ExitCode::from(1)
}
