//! The WSL2 backend (Windows): the guest root imported as the `berth` distro, and one
//! long-lived `wsl.exe -d berth -u root -- berth-agent serve --stdio` whose stdin and stdout
//! are the link — the same multiplexed protocol as on QEMU, with no socket at all.
//!
//! Everything runs through the [`ProcessRunner`] seam, so the whole backend is exercised here
//! with a recording runner; only `wsl.exe` itself needs Windows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::output::{decode, no_distributions, parse_list};
use super::paths::DistroPaths;
use super::spec::{WslCommand, WslSpec};
use super::wslconfig::{self, Reclaim};
use crate::process::{CommandSpec, LinkIo, ProcessRunner};
use crate::process_watch::ProcessWatch;
use crate::{HostTool, Hypervisor, LinkEndpoint, StopOutcome, VmError, VmStatus};

const KILL_DEADLINE: Duration = Duration::from_secs(5);

pub struct WslHypervisor {
    spec: WslSpec,
    runner: Arc<dyn ProcessRunner>,
    program: String,
    process: ProcessWatch,
    link: Mutex<Option<Box<dyn LinkIo>>>,
}

impl WslHypervisor {
    pub fn new(spec: WslSpec, runner: Arc<dyn ProcessRunner>) -> Self {
        WslHypervisor {
            spec,
            runner,
            program: "wsl.exe".into(),
            process: ProcessWatch::new(),
            link: Mutex::new(None),
        }
    }

    /// Runs `program` instead of `wsl.exe` from the PATH (`BERTH_WSL_EXE`: the stand-in).
    pub fn with_program(mut self, program: impl Into<String>) -> Self {
        self.program = program.into();
        self
    }

    async fn run(&self, command: WslCommand) -> Result<String, VmError> {
        let cmd = CommandSpec::new(self.program.clone(), command.to_args());
        let out = self
            .runner
            .output(&cmd)
            .await
            .map_err(|source| VmError::Spawn {
                program: cmd.program.clone(),
                source,
            })?;
        let text = |s: &str| {
            if command.prints_utf16() {
                decode(s.as_bytes())
            } else {
                s.to_owned()
            }
        };
        if !out.success {
            return Err(VmError::BootFailed {
                status: format!("`wsl.exe {}`: {}", cmd.args.join(" "), out.status),
                output: format!("{}{}", text(&out.stdout), text(&out.stderr)),
            });
        }
        Ok(text(&out.stdout))
    }

    /// Imports the distro unless WSL already has it (idempotent, as Lima's drivers are).
    async fn ensure_imported(&self) -> Result<(), VmError> {
        let distros = match self.run(WslCommand::ListVerbose).await {
            Ok(listed) => parse_list(&listed).map_err(|e| VmError::BadOutput {
                program: self.program.clone(),
                detail: e.to_string(),
            })?,
            // A machine with no distribution yet: wsl.exe's list fails.
            Err(VmError::BootFailed { output, .. }) if no_distributions(&output) => Vec::new(),
            Err(e) => return Err(e),
        };
        if distros.iter().any(|d| d.name == self.spec.distro) {
            return Ok(());
        }
        info!(distro = self.spec.distro, "importing the guest into WSL");
        self.run(self.spec.import()).await.map(drop)
    }

    /// Turns on WSL's memory reclaim in the user's `.wslconfig` (once it is on, this reads the
    /// file and changes nothing). A failure is logged, not fatal: the engine runs without it.
    fn ensure_memory_reclaim(&self) {
        let Some(path) = &self.spec.wslconfig else {
            return;
        };
        match wslconfig::ensure_memory_reclaim(path) {
            Ok(report) => {
                match &report.reclaim {
                    Reclaim::Added => info!(
                        path = %path.display(),
                        "turned on WSL's memory reclaim (autoMemoryReclaim={}); it applies the \
                         next time WSL starts",
                        wslconfig::RECLAIM
                    ),
                    Reclaim::AlreadyOn { value } => debug!(value, "WSL's memory reclaim is on"),
                    Reclaim::UserChoice { value } => warn!(
                        value,
                        path = %path.display(),
                        "WSL's autoMemoryReclaim is set by the user: left as it is; the VM keeps \
                         its page cache"
                    ),
                }
                if report.page_reporting_off {
                    warn!(
                        path = %path.display(),
                        "pageReporting=false in .wslconfig: WSL keeps every page the engine \
                         ever used"
                    );
                }
            }
            Err(err) => warn!(error = %err, "cannot turn on WSL's memory reclaim"),
        }
    }

    async fn terminate(&self) {
        if let Err(err) = self.run(self.spec.terminate()).await {
            debug!(%err, "wsl --terminate failed");
        }
    }
}

#[async_trait]
impl Hypervisor for WslHypervisor {
    async fn start(&self) -> Result<(), VmError> {
        if self.process.is_running() {
            return Ok(());
        }
        self.ensure_imported().await?;
        self.ensure_memory_reclaim();
        let run_agent = self.spec.run_agent().map_err(|e| VmError::BadOutput {
            program: self.program.clone(),
            detail: format!(
                "the agent at {} cannot be run in WSL: {e}",
                self.spec.agent.display()
            ),
        })?;
        let cmd = CommandSpec::new(self.program.clone(), run_agent.to_args()).with_stdio_link();
        let mut child = self.runner.spawn(&cmd).map_err(|source| VmError::Spawn {
            program: cmd.program.clone(),
            source,
        })?;
        let link = child.take_stdio_link().ok_or_else(|| VmError::BadOutput {
            program: cmd.program.clone(),
            detail: "the agent process has no stdio to carry the link".into(),
        })?;
        *self.link.lock().unwrap_or_else(|e| e.into_inner()) = Some(link);
        let pid = child.pid();
        info!(pid, distro = self.spec.distro, "WSL agent started");
        self.process.watch(child, "the agent's wsl.exe", || {});
        Ok(())
    }

    async fn stop(&self, graceful: Duration) -> Result<StopOutcome, VmError> {
        if !self.process.is_running() {
            // The agent's wsl.exe ended once it stopped the engine; the distro itself runs on
            // until it is terminated (WSL would end it later, by its idle timeout, by force).
            self.terminate().await;
            return Ok(StopOutcome::AlreadyStopped);
        }
        self.process.expect_exit();
        // The daemon has already asked the agent over the link to stop the engine and exit.
        let mut rx = self.status();
        let graceful_exit = crate::wait_status(&mut rx, graceful, |s| !s.is_running())
            .await
            .is_some();
        self.terminate().await;
        if graceful_exit {
            return Ok(StopOutcome::Graceful);
        }
        self.kill().await?;
        Ok(StopOutcome::Killed)
    }

    async fn kill(&self) -> Result<(), VmError> {
        if !self.process.is_running() {
            // The agent powered nothing off: its distro runs on until it is terminated.
            self.terminate().await;
            return Ok(());
        }
        self.process.kill(Duration::ZERO).await;
        self.terminate().await;
        let mut rx = self.status();
        crate::wait_status(&mut rx, KILL_DEADLINE, |s| !s.is_running()).await;
        Ok(())
    }

    fn expect_exit(&self) {
        self.process.expect_exit();
    }

    fn status(&self) -> watch::Receiver<VmStatus> {
        self.process.subscribe()
    }

    fn link_endpoint(&self) -> LinkEndpoint {
        LinkEndpoint::Stdio
    }

    fn take_link_io(&self) -> Option<Box<dyn LinkIo>> {
        self.link.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn describe(&self) -> String {
        format!("wsl2 ({})", self.spec.distro)
    }

    fn host_tools(&self) -> Vec<HostTool> {
        vec![HostTool::new(
            self.program.clone(),
            "install WSL 2 (`wsl --install` in an administrator PowerShell, then restart), or \
             name wsl.exe with BERTH_WSL_EXE",
        )]
    }

    fn bind_paths(&self) -> Option<DistroPaths> {
        Some(self.spec.paths())
    }

    /// `wsl.exe` holds none of the guest's memory: the one WSL VM (`vmmem`) does, for every
    /// distribution at once, and gives it back by its own `autoMemoryReclaim`.
    fn host_memory_bytes(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{ExitInfo, Output, RecordingRunner, FAKE_PID};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn spec() -> WslSpec {
        WslSpec {
            distro: "berth".into(),
            install_dir: r"C:\Users\ada\AppData\Local\Berth\wsl".into(),
            rootfs_tar: r"C:\Program Files\Berth\rootfs.tar".into(),
            agent: r"C:\Program Files\Berth\berth-agent".into(),
            wslconfig: None,
            host_files: crate::wsl::paths::HostFiles::WindowsDrives,
        }
    }

    /// What `wsl.exe --list --verbose` prints: UTF-16LE, as a lossy UTF-8 string carries it.
    fn listed(text: &str) -> Output {
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        Output {
            success: true,
            status: "exit status: 0".into(),
            stdout: String::from_utf8_lossy(&bytes).into_owned(),
            ..Output::default()
        }
    }

    #[tokio::test]
    async fn first_start_imports_then_runs_the_agent_on_stdio() {
        let runner = RecordingRunner::new();
        runner.push_output(listed(
            "  NAME      STATE      VERSION\r\n* Ubuntu    Running    2\r\n",
        ));
        let hv = WslHypervisor::new(spec(), Arc::new(runner.clone()));
        hv.start().await.unwrap();
        let args: Vec<_> = runner.commands().into_iter().map(|c| c.args).collect();
        assert_eq!(args[0], ["--list", "--verbose"]);
        assert_eq!(args[1], spec().import().to_args());
        assert_eq!(args[2], spec().run_agent().unwrap().to_args());
        assert!(runner.commands()[2].stdio_link);
        assert_eq!(*hv.status().borrow(), VmStatus::Running { pid: FAKE_PID });
        assert_eq!(hv.link_endpoint(), LinkEndpoint::Stdio);

        // The link is the agent process's stdio, handed out once.
        let mut link = hv.take_link_io().expect("link");
        assert!(hv.take_link_io().is_none());
        let mut agent = runner.take_guest_stdio().unwrap();
        link.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        agent.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
    }

    #[tokio::test]
    async fn an_imported_distro_is_not_imported_again() {
        let runner = RecordingRunner::new();
        runner.push_output(listed(
            "  NAME   STATE     VERSION\r\n  berth  Stopped   2\r\n",
        ));
        let hv = WslHypervisor::new(spec(), Arc::new(runner.clone()));
        hv.start().await.unwrap();
        let args: Vec<_> = runner.commands().into_iter().map(|c| c.args).collect();
        assert_eq!(args.len(), 2, "list, then the agent: {args:?}");
        hv.start().await.unwrap();
        assert_eq!(runner.commands().len(), 2, "start is idempotent");
    }

    #[tokio::test]
    async fn a_start_turns_on_wsls_memory_reclaim_keeping_the_users_settings() {
        let dir = tempfile::tempdir().unwrap();
        let wslconfig = dir.path().join(".wslconfig");
        std::fs::write(&wslconfig, "[wsl2]\r\nmemory=6GB\r\n").unwrap();
        let runner = RecordingRunner::new();
        runner.push_output(listed(
            "  NAME   STATE     VERSION\r\n  berth  Stopped   2\r\n",
        ));
        let spec = WslSpec {
            wslconfig: Some(wslconfig.clone()),
            ..spec()
        };
        WslHypervisor::new(spec, Arc::new(runner))
            .start()
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&wslconfig).unwrap(),
            "[wsl2]\r\nmemory=6GB\r\n\r\n[experimental]\r\nautoMemoryReclaim=dropcache\r\n"
        );
    }

    #[tokio::test]
    async fn a_machine_without_distributions_gets_the_import() {
        let runner = RecordingRunner::new();
        let text = "Windows Subsystem for Linux has no installed distributions.\r\n\
                    Error code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND\r\n";
        let mut none = listed(text);
        none.success = false;
        none.status = "exit status: 255".into();
        runner.push_output(none);
        let hv = WslHypervisor::new(spec(), Arc::new(runner.clone()));
        hv.start().await.unwrap();
        let args: Vec<_> = runner.commands().into_iter().map(|c| c.args).collect();
        assert_eq!(args[1], spec().import().to_args());
    }

    #[tokio::test]
    async fn a_failed_import_says_what_wsl_said() {
        let runner = RecordingRunner::new();
        runner.push_output(listed("  NAME STATE VERSION\r\n"));
        runner.push_output(Output {
            success: false,
            status: "exit status: 1".into(),
            stdout: "WSL 2 requires an update to its kernel component.".into(),
            ..Output::default()
        });
        let hv = WslHypervisor::new(spec(), Arc::new(runner));
        let err = hv.start().await.unwrap_err();
        let VmError::BootFailed { status, output } = &err else {
            panic!("expected BootFailed, got {err:?}");
        };
        assert!(status.contains("--import"), "{status}");
        assert!(output.contains("kernel component"), "{output}");
        assert_eq!(*hv.status().borrow(), VmStatus::NotStarted);
    }

    #[tokio::test]
    async fn a_crash_is_published_and_stop_terminates_the_distro() {
        let runner = RecordingRunner::new();
        runner.push_output(listed(
            "  NAME   STATE     VERSION\r\n  berth  Running   2\r\n",
        ));
        let hv = WslHypervisor::new(spec(), Arc::new(runner.clone()));
        hv.start().await.unwrap();
        let mut rx = hv.status();
        runner.exit_children(ExitInfo {
            code: Some(1),
            signal: None,
        });
        let status = crate::wait_status(&mut rx, Duration::from_secs(2), |s| !s.is_running()).await;
        assert_eq!(
            status,
            Some(VmStatus::Exited {
                code: Some(1),
                signal: None,
                requested: false
            })
        );

        let runner = RecordingRunner::new();
        runner.push_output(listed(
            "  NAME   STATE     VERSION\r\n  berth  Running   2\r\n",
        ));
        let hv = WslHypervisor::new(spec(), Arc::new(runner.clone()));
        hv.start().await.unwrap();
        assert_eq!(
            hv.stop(Duration::from_millis(50)).await.unwrap(),
            StopOutcome::Killed
        );
        let last: Vec<_> = runner.commands().into_iter().map(|c| c.args).collect();
        assert!(last.contains(&spec().terminate().to_args()), "{last:?}");

        // The agent's wsl.exe already ended (it stopped the engine and exited): the distro is
        // still terminated.
        let runner = RecordingRunner::new();
        runner.push_output(listed(
            "  NAME   STATE     VERSION\r\n  berth  Running   2\r\n",
        ));
        let hv = WslHypervisor::new(spec(), Arc::new(runner.clone()));
        hv.start().await.unwrap();
        hv.expect_exit();
        let mut rx = hv.status();
        runner.exit_children(ExitInfo {
            code: Some(0),
            signal: None,
        });
        crate::wait_status(&mut rx, Duration::from_secs(2), |s| !s.is_running()).await;
        assert_eq!(
            hv.stop(Duration::from_millis(50)).await.unwrap(),
            StopOutcome::AlreadyStopped
        );
        let last = runner.commands().pop().unwrap().args;
        assert_eq!(last, spec().terminate().to_args());
    }
}
