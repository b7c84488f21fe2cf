//! The programs a backend runs on the host (QEMU and qemu-img, vfkit, wsl.exe), checked before
//! anything starts: a missing one is an error that names it and says how to install it, never
//! the `No such file or directory` of a spawn half-way through a start.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::VmError;

/// One program a backend needs, and how a user gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTool {
    /// As the backend spawns it: a name looked up on the PATH, or an absolute path.
    pub program: String,
    /// What to do when it is missing, as an instruction (`install the qemu-utils package`).
    pub install: String,
    /// The Debian/Ubuntu package that brings it, when one does (the `.deb` depends on it).
    pub package: Option<String>,
}

impl HostTool {
    pub fn new(program: impl Into<String>, install: impl Into<String>) -> Self {
        HostTool {
            program: program.into(),
            install: install.into(),
            package: None,
        }
    }

    /// A program from a distribution package of that name.
    pub fn from_package(program: impl Into<String>, package: &str) -> Self {
        HostTool {
            package: Some(package.to_owned()),
            ..HostTool::new(program, format!("install the {package} package"))
        }
    }
}

/// Where `program` is: itself when it is a path to a file, else the first match on the PATH
/// (with the executable extensions of `PATHEXT` on Windows).
pub fn find(program: &str) -> Option<PathBuf> {
    find_in(
        program,
        std::env::var_os("PATH"),
        std::env::var_os("PATHEXT"),
    )
}

fn find_in(program: &str, path: Option<OsString>, pathext: Option<OsString>) -> Option<PathBuf> {
    let given = Path::new(program);
    if given.components().count() > 1 || given.is_absolute() {
        return is_program(given).then(|| given.to_path_buf());
    }
    let extensions: Vec<String> = match pathext {
        Some(exts) if cfg!(windows) => std::iter::once(String::new())
            .chain(exts.to_string_lossy().split(';').map(str::to_owned))
            .collect(),
        _ => vec![String::new()],
    };
    std::env::split_paths(&path.unwrap_or_default())
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| {
            extensions
                .iter()
                .map(move |ext| dir.join(format!("{program}{ext}")))
        })
        .find(|candidate| is_program(candidate))
}

#[cfg(unix)]
fn is_program(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_program(path: &Path) -> bool {
    path.is_file()
}

/// Fails with [`VmError::MissingTool`] for the first tool that is not there.
pub fn check(tools: &[HostTool]) -> Result<(), VmError> {
    match tools.iter().find(|tool| find(&tool.program).is_none()) {
        Some(tool) => Err(VmError::MissingTool {
            program: tool.program.clone(),
            install: tool.install.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn program(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn finds_programs_on_the_path_and_by_absolute_path() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let img = program(b.path(), "qemu-img", 0o755);
        program(a.path(), "notes", 0o644);
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(
            find_in("qemu-img", Some(path.clone()), None),
            Some(img.clone())
        );
        assert_eq!(
            find_in("notes", Some(path.clone()), None),
            None,
            "not executable"
        );
        assert_eq!(find_in("qemu-system-x86_64", Some(path), None), None);
        assert_eq!(find_in(img.to_str().unwrap(), None, None), Some(img));
        assert_eq!(find_in("/nonexistent/vfkit", None, None), None);
    }

    #[test]
    fn a_missing_tool_is_named_with_how_to_install_it() {
        let err = check(&[
            HostTool::from_package("sh", "dash"),
            HostTool::from_package("berth-no-such-tool-img", "qemu-utils"),
        ])
        .unwrap_err();
        assert!(matches!(err, VmError::MissingTool { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "berth-no-such-tool-img not found: install the qemu-utils package"
        );
        check(&[HostTool::from_package("sh", "dash")]).unwrap();
    }
}
