//! Host folders shared into the guest at the same absolute path, so `docker run -v "$PWD":/src`
//! means the same files inside the VM as on the host.
//!
//! Which folders: the `shared_folders` setting when it lists any (it is then the whole list, and
//! the Settings page shows the home folder in it), else the user's home folder alone. An empty
//! list therefore means "the default", and a list without the home folder is how a user (or a
//! test) says "not my home folder".
//!
//! How the guest learns about them: one `berth.share=<method>:<tag>:<path>` argument per share
//! on the kernel command line, the path percent-encoded (spaces, commas and non-ASCII bytes
//! survive the command line); the guest init (`/usr/lib/berth/mount-shares`) mounts each tag at
//! its path before dockerd starts.

use std::path::{Path, PathBuf};

/// How a folder reaches the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareMethod {
    /// virtio-9p, served by QEMU itself.
    NineP,
    /// virtio-fs, served by a `virtiofsd` process beside QEMU.
    Virtiofs,
}

impl ShareMethod {
    pub fn name(self) -> &'static str {
        match self {
            ShareMethod::NineP => "9p",
            ShareMethod::Virtiofs => "virtiofs",
        }
    }

    pub fn from_name(name: &str) -> Option<ShareMethod> {
        match name {
            "9p" => Some(ShareMethod::NineP),
            "virtiofs" => Some(ShareMethod::Virtiofs),
            _ => None,
        }
    }
}

/// The folders to share: `configured` when it is not empty, else `home`. Relative paths,
/// duplicates and folders that do not exist (or are not directories) are left out, with a
/// warning for the missing ones: a stale entry must not stop the engine from starting.
pub fn folders_to_share(configured: &[PathBuf], home: Option<PathBuf>) -> Vec<PathBuf> {
    let wanted: Vec<PathBuf> = if configured.is_empty() {
        home.into_iter().collect()
    } else {
        configured.to_vec()
    };
    let mut out: Vec<PathBuf> = Vec::new();
    for path in wanted {
        let path = normalize(&path);
        if path.is_relative() || out.contains(&path) {
            continue;
        }
        if !path.is_dir() {
            tracing::warn!(path = %path.display(), "not sharing a folder that does not exist");
            continue;
        }
        out.push(path);
    }
    out
}

/// The user's home folder (`$HOME`), where there is one.
pub fn home_folder() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
}

/// Drops `.` components and trailing slashes (`/home/u/./x/` -> `/home/u/x`); symlinks are
/// kept as they are, since that is the path the user types.
fn normalize(path: &Path) -> PathBuf {
    path.components().collect()
}

/// The guest mount tag of the `index`-th share.
pub fn tag(index: usize) -> String {
    format!("berth{index}")
}

/// One kernel command-line argument telling the guest to mount `tag` at `path`.
pub fn cmdline_arg(method: ShareMethod, tag: &str, path: &Path) -> String {
    format!(
        "berth.share={}:{tag}:{}",
        method.name(),
        percent_encode(path)
    )
}

/// Reads back an argument made by [`cmdline_arg`].
pub fn parse_cmdline_arg(arg: &str) -> Option<(ShareMethod, String, PathBuf)> {
    let rest = arg.strip_prefix("berth.share=")?;
    let mut parts = rest.splitn(3, ':');
    let method = ShareMethod::from_name(parts.next()?)?;
    let tag = parts.next()?.to_string();
    let path = percent_decode(parts.next()?)?;
    Some((method, tag, path))
}

/// Bytes outside `[A-Za-z0-9/._-]` become `%XX`, so the guest's shell can decode them with
/// `printf %b` after turning `%` into `\x`.
fn percent_encode(path: &Path) -> String {
    let mut out = String::new();
    for &b in path_bytes(path).iter() {
        if b.is_ascii_alphanumeric() || b"/._-".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> Option<PathBuf> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    path_from_bytes(out)
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> Option<PathBuf> {
    String::from_utf8(bytes).ok().map(PathBuf::from)
}

/// The uid and gid that own `path`, for serving a share as its owner.
#[cfg(unix)]
pub fn owner(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.uid(), meta.gid()))
}

#[cfg(not(unix))]
pub fn owner(_path: &Path) -> Option<(u32, u32)> {
    None
}

/// Who should serve the shares: the owner of the first one, when Berth runs as root and that
/// owner is not root. A desktop user's Berth already runs as the owner of their home folder;
/// a root daemon (a system service, the tests) must not create root-owned files in it.
pub fn serve_as(shares: &[PathBuf]) -> Option<(u32, u32)> {
    if !running_as_root() {
        return None;
    }
    let (uid, gid) = owner(shares.first()?)?;
    (uid != 0).then_some((uid, gid))
}

/// Whether this process's effective uid is 0 (the `Uid:` line of `/proc/self/status` is
/// real, effective, saved, fs).
#[cfg(target_os = "linux")]
fn running_as_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

#[cfg(not(target_os = "linux"))]
fn running_as_root() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_the_default_and_a_list_replaces_it() {
        let home = tempfile::tempdir().unwrap();
        let extra = tempfile::tempdir().unwrap();
        let h = home.path().to_path_buf();
        let e = extra.path().to_path_buf();
        assert_eq!(folders_to_share(&[], Some(h.clone())), vec![h.clone()]);
        assert_eq!(
            folders_to_share(std::slice::from_ref(&e), Some(h.clone())),
            vec![e.clone()]
        );
        assert_eq!(
            folders_to_share(&[h.clone(), e.clone()], None),
            vec![h.clone(), e.clone()]
        );
        assert!(folders_to_share(&[], None).is_empty());
    }

    #[test]
    fn duplicates_missing_and_relative_folders_are_left_out() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path().to_path_buf();
        let list = vec![
            h.clone(),
            h.join("."),
            PathBuf::from(format!("{}/", h.display())),
            h.join("missing"),
            PathBuf::from("relative"),
        ];
        assert_eq!(folders_to_share(&list, None), vec![h]);
    }

    #[test]
    fn cmdline_args_round_trip_odd_paths() {
        for path in [
            "/home/alice",
            "/home/a b/c,d",
            "/Users/Zoë/Projects",
            "/x/50%/y:z=1",
        ] {
            let arg = cmdline_arg(ShareMethod::NineP, "berth0", Path::new(path));
            assert!(!arg.contains(' ') && !arg.contains(','), "{arg}");
            assert_eq!(
                parse_cmdline_arg(&arg),
                Some((ShareMethod::NineP, "berth0".into(), PathBuf::from(path)))
            );
        }
        assert_eq!(
            cmdline_arg(ShareMethod::Virtiofs, "berth1", Path::new("/home/a b")),
            "berth.share=virtiofs:berth1:/home/a%20b"
        );
        assert_eq!(parse_cmdline_arg("berth.share=nfs:t:/x"), None);
        assert_eq!(parse_cmdline_arg("berth.share=9p:t:/x%2"), None);
    }

    #[test]
    fn owner_reads_the_folder_owner() {
        let dir = tempfile::tempdir().unwrap();
        let me = owner(Path::new("/proc/self")).unwrap();
        assert_eq!(owner(dir.path()), Some(me));
        assert_eq!(owner(&dir.path().join("nope")), None);
    }
}
