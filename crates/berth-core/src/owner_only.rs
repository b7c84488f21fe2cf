//! What Berth stores is its user's alone: images, volumes, logs and settings can hold secrets.
//! Folders are 0700 and files 0600 on Unix (macOS included); on Windows an ACL grants the
//! current user alone, with nothing inherited from the parent. Applied when a file or folder is
//! made, and again at every start, which fixes up an install made before Berth was strict.

use std::fs::File;
use std::io;
use std::path::Path;

/// The mode of a private folder on Unix.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a private file on Unix.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and its missing parents, then makes `path` itself private.
pub fn create_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)?;
    restrict_dir(path)
}

/// Makes an existing folder private.
pub fn restrict_dir(path: &Path) -> io::Result<()> {
    platform::restrict(path, DIR_MODE)
}

/// Makes a file private when it exists; a missing file is not an error.
pub fn restrict_file(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => platform::restrict(path, FILE_MODE),
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// Makes every regular file directly in `dir` private (sockets and links are left alone).
pub fn restrict_files_in(dir: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    for entry in entries {
        restrict_file(&entry?.path())?;
    }
    Ok(())
}

/// Opens `path` for appending, creating it private; an existing file is made private too.
pub fn append(path: &Path) -> io::Result<File> {
    let file = platform::options(FILE_MODE)
        .create(true)
        .append(true)
        .open(path)?;
    platform::restrict(path, FILE_MODE)?;
    Ok(file)
}

/// Creates (or truncates) `path` for writing, private.
pub fn create(path: &Path) -> io::Result<File> {
    let file = platform::options(FILE_MODE)
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    platform::restrict(path, FILE_MODE)?;
    Ok(file)
}

#[cfg(unix)]
mod platform {
    use std::fs::{OpenOptions, Permissions};
    use std::io;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    pub fn options(mode: u32) -> OpenOptions {
        let mut options = OpenOptions::new();
        options.mode(mode);
        options
    }

    pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
        let current = std::fs::metadata(path)?.permissions().mode() & 0o7777;
        if current == mode {
            return Ok(());
        }
        std::fs::set_permissions(path, Permissions::from_mode(mode))
    }
}

#[cfg(windows)]
mod platform {
    use std::fs::OpenOptions;
    use std::io;
    use std::path::Path;
    use std::process::{Command, Stdio};

    pub fn options(_mode: u32) -> OpenOptions {
        OpenOptions::new()
    }

    /// `icacls` (in every Windows since Vista) replaces the ACL: inheritance removed, full
    /// control for the current user only, inherited by what is created inside a folder.
    pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
        let user = match (std::env::var("USERDOMAIN"), std::env::var("USERNAME")) {
            (Ok(domain), Ok(name)) if !domain.is_empty() => format!("{domain}\\{name}"),
            (_, Ok(name)) => name,
            _ => return Err(io::Error::other("USERNAME is not set")),
        };
        let grant = if mode == super::DIR_MODE {
            format!("{user}:(OI)(CI)F")
        } else {
            format!("{user}:F")
        };
        let status = Command::new("icacls")
            .arg(path)
            .args(["/inheritance:r", "/grant:r", &grant, "/Q"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "icacls could not restrict {} to {user} ({status})",
                path.display()
            )))
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod platform {
    use std::fs::OpenOptions;
    use std::io;
    use std::path::Path;

    pub fn options(_mode: u32) -> OpenOptions {
        OpenOptions::new()
    }

    pub fn restrict(_path: &Path, _mode: u32) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn folders_and_files_are_made_private_and_fixed_up() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        // An older install: a world-readable folder and file are fixed up.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("disk.qcow2");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict_dir(&dir).unwrap();
        restrict_files_in(&dir).unwrap();
        assert_eq!((mode(&dir), mode(&file)), (0o700, 0o600));
        restrict_file(&dir.join("missing")).unwrap();
        restrict_files_in(&root.path().join("missing")).unwrap();
    }

    #[test]
    fn files_are_created_private_whatever_the_umask_allows() {
        let root = tempfile::tempdir().unwrap();
        let log = root.path().join("daemon.log");
        drop(append(&log).unwrap());
        assert_eq!(mode(&log), 0o600);
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(append(&log).unwrap());
        assert_eq!(mode(&log), 0o600, "an existing log is fixed up when opened");
        let bundle = root.path().join("bundle.tar.gz");
        drop(create(&bundle).unwrap());
        assert_eq!(mode(&bundle), 0o600);
    }

    #[test]
    fn sockets_and_links_are_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&target, root.path().join("link")).unwrap();
        let dir = root.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(&target, dir.join("link")).unwrap();
        restrict_files_in(&dir).unwrap();
        assert_eq!(
            mode(&target),
            0o644,
            "a link's target outside is not touched"
        );
    }
}
