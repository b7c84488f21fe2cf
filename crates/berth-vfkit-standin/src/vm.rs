//! Running one VM as vfkit runs it (`cmd/vfkit/main.go`'s `runVFKit`): the REST service first,
//! then the VM (here: the vhost-user helpers, then QEMU), the vsock ports once it runs, and the
//! process ends when the VM stops. SIGTERM/SIGINT ask the guest to stop and force it after 5 s,
//! as vfkit's exit handler does. Every process started here is a child that dies with this one
//! (`PR_SET_PDEATHSIG`) and is ended by PID when the VM stops.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_vm::qemu::{accel, Accel, Arch};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::cmdline::Options;
use crate::config::VirtualMachine;
use crate::machine::{self, Helper, Plan};
use crate::rest::{self, Control, Endpoint, Machine, VmState};
use crate::vsock;

/// How long a helper or QEMU gets to create its socket.
const SOCKET_DEADLINE: Duration = Duration::from_secs(15);
/// vfkit's wait for the guest after a stop request on SIGTERM/SIGINT, before forcing it.
const SIGNAL_STOP_DEADLINE: Duration = Duration::from_secs(5);

fn info(msg: &str) {
    eprintln!("level=info msg={msg:?}");
}

fn warn(msg: &str) {
    eprintln!("level=warning msg={msg:?}");
}

/// QMP to the VM's QEMU.
struct Qmp(PathBuf);

impl Control for Qmp {
    fn execute(
        &self,
        qmp_command: &'static str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            berth_vm::qemu::qmp::execute(&self.0, qmp_command)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }
}

/// A child that dies with this process and is ended (SIGKILL, reaped) when dropped.
fn spawn(program: &str, args: &[String]) -> Result<Child, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    die_with_parent(&mut cmd);
    cmd.spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))
}

#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2), which
    // is async-signal-safe; it allocates nothing. The runtime is single-threaded (main.rs), so
    // the parent "thread" whose death this watches is the process's only one.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

async fn stop_child(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

/// Waits until `socket` exists, or fails when `child` exits first or the deadline passes.
async fn wait_for_socket(child: &mut Child, what: &str, socket: &Path) -> Result<(), String> {
    let deadline = Instant::now() + SOCKET_DEADLINE;
    while !socket.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited at start ({status})"));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{what} did not create {} within {} s",
                socket.display(),
                SOCKET_DEADLINE.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn start_helper(helper: &Helper, program: &str) -> Result<Child, String> {
    let _ = std::fs::remove_file(&helper.socket);
    let mut child = spawn(program, &helper.args)?;
    if let Err(e) = wait_for_socket(&mut child, helper.what, &helper.socket).await {
        stop_child(&mut child).await;
        return Err(e);
    }
    Ok(child)
}

/// The REST listener, bound before the VM starts (vfkit's `srv.Start()`).
enum RestListener {
    None,
    Unix(tokio::net::UnixListener, PathBuf),
    Tcp(tokio::net::TcpListener),
}

async fn bind(endpoint: &Endpoint) -> Result<RestListener, String> {
    Ok(match endpoint {
        Endpoint::None => RestListener::None,
        Endpoint::Unix(path) => {
            let listener = tokio::net::UnixListener::bind(path).map_err(|e| {
                format!(
                    "listen unix {}: bind: {}",
                    path.display(),
                    match e.kind() {
                        std::io::ErrorKind::AddrInUse => "address already in use".to_owned(),
                        _ => e.to_string(),
                    }
                )
            })?;
            RestListener::Unix(listener, path.clone())
        }
        Endpoint::Tcp(addr) => RestListener::Tcp(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("listen tcp {addr}: {e}"))?,
        ),
    })
}

fn serve(listener: RestListener, machine: Arc<Machine>) -> Option<PathBuf> {
    match listener {
        RestListener::None => None,
        RestListener::Unix(l, path) => {
            let l = Arc::new(l);
            tokio::spawn(rest::serve(machine, move || {
                let l = l.clone();
                async move { l.accept().await.map(|(s, _)| s) }
            }));
            Some(path)
        }
        RestListener::Tcp(l) => {
            let l = Arc::new(l);
            tokio::spawn(rest::serve(machine, move || {
                let l = l.clone();
                async move { l.accept().await.map(|(s, _)| s) }
            }));
            None
        }
    }
}

fn accel_for(arch: Arch) -> Accel {
    let host = Arch::from_name(std::env::consts::ARCH);
    if host == Some(arch) {
        accel::probe()
    } else {
        Accel::Tcg {
            tb_size_mib: accel::TCG_TB_SIZE_MIB,
        }
    }
}

/// The processes of one running VM, ended (QEMU last) when dropped or stopped.
struct Running {
    helpers: Vec<Child>,
    qemu: Option<Child>,
}

impl Running {
    async fn stop(&mut self) {
        if let Some(qemu) = &mut self.qemu {
            stop_child(qemu).await;
        }
        for helper in &mut self.helpers {
            stop_child(helper).await;
        }
    }
}

/// Runs `vm` until it stops. `Err` is what vfkit would print (before or while the VM starts).
pub async fn run(vm: VirtualMachine, opts: &Options) -> Result<(), String> {
    let arch = machine::choose_arch(&vm, std::env::var(machine::ARCH_VAR).ok().as_deref())?;
    let accel = accel_for(arch);
    let run_dir = tempfile::Builder::new()
        .prefix("berth-vfkit-")
        .tempdir()
        .map_err(|e| format!("cannot make a private directory: {e}"))?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id());
    let plan = machine::plan(&vm, arch, accel, run_dir.path(), seed)?;
    let endpoint = rest::endpoint(&opts.restful_uri)?;
    if !opts.pidfile.is_empty() {
        std::fs::write(&opts.pidfile, format!("{}\n", std::process::id()))
            .map_err(|e| format!("could not write PID: {e}"))?;
    }
    info(&format!(
        "virtual machine parameters: {} vCPUs, {} MiB, played by {} ({})",
        vm.cpus,
        vm.memory_mib,
        plan.qemu,
        accel.name()
    ));
    let listener = bind(&endpoint).await?;
    let machine = Machine::new(
        Box::new(Qmp(plan.qmp.clone())),
        json!({ "cpus": vm.cpus, "memory": vm.memory_mib, "devices": opts.devices }),
    );
    let rest_socket = serve(listener, machine.clone());
    let mut running = Running {
        helpers: Vec::new(),
        qemu: None,
    };
    let result = run_machine(&vm, &plan, &machine, &mut running).await;
    if result.is_err() {
        machine.set_state(VmState::Error);
    }
    running.stop().await;
    if let Some(path) = rest_socket {
        let _ = std::fs::remove_file(path);
    }
    if !opts.pidfile.is_empty() {
        let _ = std::fs::remove_file(&opts.pidfile);
    }
    result
}

async fn run_machine(
    vm: &VirtualMachine,
    plan: &Plan,
    machine: &Arc<Machine>,
    running: &mut Running,
) -> Result<(), String> {
    let virtiofsd = berth_vm::qemu::find_virtiofsd()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "virtiofsd".into());
    for helper in &plan.virtiofsd {
        running
            .helpers
            .push(start_helper(helper, &virtiofsd).await?);
    }
    if let Some(helper) = &plan.vsock {
        let program = berth_vm::qemu::vhost_user::vhost_device_vsock();
        running.helpers.push(start_helper(helper, &program).await?);
    }
    let qemu = running.qemu.insert(spawn(plan.qemu, &plan.args)?);
    wait_for_socket(qemu, plan.qemu, &plan.qmp).await?;
    // vfkit waits for VirtualMachineStateRunning before it exposes the vsock ports.
    berth_vm::qemu::qmp::execute(&plan.qmp, "query-status")
        .await
        .map_err(|e| format!("timeout waiting for VM state: {e}"))?;
    machine.set_state(VmState::Running);
    info("virtual machine is running");
    let mut exposed = Vec::new();
    for (port, socket, listen) in vm.vsock_ports() {
        let how = if listen { " (listening)" } else { "" };
        info(&format!(
            "Exposing vsock port {port} on {}{how}",
            socket.display()
        ));
        match vsock::expose(port, &socket, listen, &plan.vsock_uds) {
            Ok(e) => exposed.push(e),
            Err(e) => warn(&format!("error exposing vsock port {port}: {e}")),
        }
    }
    info("waiting for VM to stop");
    let outcome = wait_for_stop(qemu, machine, &plan.qmp).await;
    machine.set_state(VmState::Stopped);
    drop(exposed);
    outcome
}

async fn wait_for_stop(qemu: &mut Child, machine: &Machine, qmp: &Path) -> Result<(), String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let status = tokio::select! {
        status = qemu.wait() => status,
        _ = term.recv() => shutdown(qemu, machine, qmp).await,
        _ = int.recv() => shutdown(qemu, machine, qmp).await,
    };
    match status {
        Ok(s) if s.success() => {
            info("VM is stopped");
            Ok(())
        }
        Ok(s) => Err(format!(
            "virtualization error: hypervisor virtualization error ({s})"
        )),
        Err(e) => Err(format!("virtualization error: {e}")),
    }
}

/// vfkit's exit handler: request a stop, give the guest 5 s, then stop it by force.
async fn shutdown(
    qemu: &mut Child,
    machine: &Machine,
    qmp: &Path,
) -> std::io::Result<std::process::ExitStatus> {
    info("shutting down...");
    if let Err(e) = machine.change("Stop").await {
        warn(&format!("failed to shutdown VM: {e}"));
    }
    if let Ok(status) = tokio::time::timeout(SIGNAL_STOP_DEADLINE, qemu.wait()).await {
        return status;
    }
    warn("failed to wait for VM stop: timeout waiting for VM state, forcing stop");
    let _ = berth_vm::qemu::qmp::execute(qmp, "quit").await;
    match tokio::time::timeout(Duration::from_secs(3), qemu.wait()).await {
        Ok(status) => status,
        Err(_) => {
            let _ = qemu.start_kill();
            qemu.wait().await
        }
    }
}
