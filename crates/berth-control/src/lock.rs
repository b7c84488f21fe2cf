//! One daemon per BERTH_HOME: an exclusive `flock` on `<run dir>/daemon.lock`, held for the
//! process's life and released by the kernel when it ends (even by SIGKILL). On Windows the
//! lock is the file itself, opened shared for reading only: a second open to write fails until
//! the holder's handle closes (also when the process dies).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use nix::errno::Errno;
#[cfg(unix)]
use nix::fcntl::{Flock, FlockArg};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error("another Berth daemon already runs for this BERTH_HOME (lock {path:?} is held)")]
    Held { path: PathBuf },
    #[error("cannot take the daemon lock {path:?}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct DaemonLock {
    #[cfg(unix)]
    _file: Flock<File>,
    #[cfg(not(unix))]
    _file: File,
}

/// Takes the lock without waiting and writes our pid into it.
pub fn acquire(path: &Path) -> Result<DaemonLock, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).read(true).write(true);
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        // FILE_SHARE_READ: others may read the pid, nobody else may open it to write.
        options.share_mode(1);
    }
    #[cfg(not(unix))]
    let mut file = match options.open(path) {
        Ok(file) => file,
        // ERROR_SHARING_VIOLATION: another daemon holds it open.
        Err(e) if e.raw_os_error() == Some(32) => {
            return Err(LockError::Held {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(io(e)),
    };
    #[cfg(unix)]
    let file = options.open(path).map_err(io)?;
    #[cfg(unix)]
    let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => locked,
        Err((_, Errno::EWOULDBLOCK)) => {
            return Err(LockError::Held {
                path: path.to_path_buf(),
            })
        }
        Err((_, errno)) => return Err(io(errno.into())),
    };
    file.set_len(0).map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(DaemonLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        let first = acquire(&path).unwrap();
        assert!(matches!(acquire(&path), Err(LockError::Held { .. })));
        let pid: u32 = std::fs::read_to_string(&path)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(pid, std::process::id());
        drop(first);
        let _second = acquire(&path).unwrap();
    }
}
