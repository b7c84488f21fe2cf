//! Reading what the code under test wrote: file modes and `.tar.gz` bundles.

use std::io::Read;
use std::path::Path;

/// The permission bits of `path` (`0o600`, ...); panics, naming the path, when it is missing.
#[cfg(unix)]
pub fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every entry of a `.tar.gz` as (path, text); panics on a malformed archive.
pub fn read_tar_gz(path: &Path) -> Vec<(String, String)> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .expect("a tar archive")
        .map(|entry| {
            let mut entry = entry.expect("an archive entry");
            let name = entry.path().expect("a path").to_string_lossy().into_owned();
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("a text entry");
            (name, text)
        })
        .collect()
}
