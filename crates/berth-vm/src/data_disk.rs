//! The data disk: a qcow2 file holding the guest's `/var/lib/docker`. Created on first start,
//! grown when the setting grows, never shrunk (shrinking would lose data) and never deleted here.
//! The guest makes the filesystem when the disk is blank.

use std::path::Path;

use serde::Deserialize;

use crate::process::{CommandSpec, ProcessRunner};
use crate::VmError;

pub const FILE_NAME: &str = "data.qcow2";
const GIB: u64 = 1 << 30;

/// What [`ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskAction {
    Created,
    Grown {
        from_gib: u64,
    },
    /// Already the requested size, or larger (kept: disks never shrink).
    Kept {
        size_gib: u64,
    },
}

#[derive(Deserialize)]
struct Info {
    #[serde(rename = "virtual-size")]
    virtual_size: u64,
}

/// Makes sure `path` is a qcow2 disk of at least `size_gib`, readable by its owner only (every
/// image and volume is in it). Idempotent.
pub async fn ensure(
    runner: &dyn ProcessRunner,
    qemu_img: &str,
    path: &Path,
    size_gib: u64,
) -> Result<DiskAction, VmError> {
    let action = create_or_grow(runner, qemu_img, path, size_gib).await?;
    berth_core::owner_only::restrict_file(path).map_err(VmError::io(path))?;
    Ok(action)
}

async fn create_or_grow(
    runner: &dyn ProcessRunner,
    qemu_img: &str,
    path: &Path,
    size_gib: u64,
) -> Result<DiskAction, VmError> {
    let path_str = path.to_string_lossy().into_owned();
    let size = format!("{size_gib}G");
    if !path.exists() {
        run(
            runner,
            CommandSpec::new(qemu_img, ["create", "-q", "-f", "qcow2", &path_str, &size]),
        )
        .await?;
        return Ok(DiskAction::Created);
    }
    let out = run(
        runner,
        CommandSpec::new(qemu_img, ["info", "-U", "--output=json", &path_str]),
    )
    .await?;
    let info: Info = serde_json::from_str(&out).map_err(|e| VmError::BadOutput {
        program: qemu_img.to_string(),
        detail: e.to_string(),
    })?;
    let current_gib = info.virtual_size / GIB;
    if info.virtual_size >= size_gib * GIB {
        return Ok(DiskAction::Kept {
            size_gib: current_gib,
        });
    }
    run(
        runner,
        CommandSpec::new(qemu_img, ["resize", "-q", "-f", "qcow2", &path_str, &size]),
    )
    .await?;
    Ok(DiskAction::Grown {
        from_gib: current_gib,
    })
}

async fn run(runner: &dyn ProcessRunner, cmd: CommandSpec) -> Result<String, VmError> {
    let out = runner.output(&cmd).await.map_err(|source| VmError::Spawn {
        program: cmd.program.clone(),
        source,
    })?;
    if !out.success {
        return Err(VmError::CommandFailed {
            program: cmd.program,
            status: out.status,
            stderr: out.stderr.trim().to_string(),
        });
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{Output, RecordingRunner, SystemRunner};

    fn args(runner: &RecordingRunner) -> Vec<Vec<String>> {
        runner.commands().into_iter().map(|c| c.args).collect()
    }

    #[tokio::test]
    async fn creates_a_missing_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.qcow2");
        let runner = RecordingRunner::new();
        let action = ensure(&runner, "qemu-img", &path, 64).await.unwrap();
        assert_eq!(action, DiskAction::Created);
        let p = path.to_string_lossy().to_string();
        assert_eq!(
            args(&runner),
            [vec!["create", "-q", "-f", "qcow2", &p, "64G"]]
        );
    }

    #[tokio::test]
    async fn grows_but_never_shrinks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.qcow2");
        std::fs::write(&path, b"").unwrap();
        let runner = RecordingRunner::new();
        let info = |gib: u64| Output {
            success: true,
            stdout: format!(r#"{{"virtual-size": {}, "format": "qcow2"}}"#, gib * GIB),
            ..Output::default()
        };
        runner.push_output(info(32));
        assert_eq!(
            ensure(&runner, "qemu-img", &path, 64).await.unwrap(),
            DiskAction::Grown { from_gib: 32 }
        );
        runner.push_output(info(128));
        assert_eq!(
            ensure(&runner, "qemu-img", &path, 64).await.unwrap(),
            DiskAction::Kept { size_gib: 128 }
        );
        let verbs: Vec<String> = args(&runner).into_iter().map(|a| a[0].clone()).collect();
        assert_eq!(verbs, ["info", "resize", "info"]);
    }

    /// Against the real qemu-img: create, keep, grow.
    #[tokio::test]
    async fn real_qemu_img_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let runner = SystemRunner;
        assert_eq!(
            ensure(&runner, "qemu-img", &path, 1).await.unwrap(),
            DiskAction::Created
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600, "a new disk is its owner's alone");
            // A disk from before Berth was strict is fixed up at the next start.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            ensure(&runner, "qemu-img", &path, 1).await.unwrap();
            assert_eq!(mode(&path), 0o600);
        }
        assert_eq!(
            ensure(&runner, "qemu-img", &path, 1).await.unwrap(),
            DiskAction::Kept { size_gib: 1 }
        );
        assert_eq!(
            ensure(&runner, "qemu-img", &path, 2).await.unwrap(),
            DiskAction::Grown { from_gib: 1 }
        );
        assert_eq!(
            ensure(&runner, "qemu-img", &path, 1).await.unwrap(),
            DiskAction::Kept { size_gib: 2 }
        );
    }
}
