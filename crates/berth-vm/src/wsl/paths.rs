//! Windows host paths -> the paths the engine in the WSL distro sees, for bind mounts.
//!
//! A Windows user types `docker run -v C:\Users\me\app:/src ...`; the docker CLI sends that
//! string as is, and the engine (Linux, inside the `berth` distro) must be given
//! `/mnt/c/Users/me/app` instead. The relay applies [`rewrite_create_body`] to each
//! container-create request on its way to the engine. Everything here is pure.

use serde_json::Value;

/// Where WSL mounts the Windows drives (`automount.root` default).
pub const DRIVES_ROOT: &str = "/mnt";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    #[error("{path:?} is relative to the current directory of drive {drive}:, which the engine cannot know; give a full path such as {drive}:\\folder")]
    DriveRelative { path: String, drive: char },
    #[error("{path:?} is a network share; Berth shares local drives only. Copy the files to a local folder or map the share to a drive letter")]
    NetworkShare { path: String },
    #[error("{path:?} is inside the WSL distro {distro:?}, which the engine's distro cannot see; use a folder on a Windows drive or in the berth distro")]
    OtherDistro { path: String, distro: String },
}

/// How the host's files appear inside the distro: WSL puts each Windows drive under
/// [`DRIVES_ROOT`] (`C:\x` is `/mnt/c/x`); the `wsl.exe` stand-in on Linux puts the host's whole
/// tree under [`HOST_MOUNT`] (`/x` is `/mnt/host/x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFiles {
    WindowsDrives,
    UnderHostMount,
}

/// Where the `wsl.exe` stand-in (`berth-wsl-standin`) mounts a Linux host's `/`.
pub const HOST_MOUNT: &str = "/mnt/host";

impl HostFiles {
    /// This host's: Windows drives on Windows, the stand-in's mount elsewhere.
    pub fn of_this_host() -> Self {
        if cfg!(windows) {
            HostFiles::WindowsDrives
        } else {
            HostFiles::UnderHostMount
        }
    }
}

/// The host's paths as the engine in one distro must be given them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistroPaths {
    /// The engine's distro: `\\wsl$\<distro>\x` is its own `/x`.
    pub distro: String,
    pub host: HostFiles,
}

impl DistroPaths {
    /// One host path in the distro. A Linux host's absolute path goes under [`HOST_MOUNT`];
    /// anything else (a named volume) comes back unchanged.
    pub fn translate(&self, path: &str) -> Result<String, PathError> {
        match self.host {
            HostFiles::WindowsDrives => translate(path, &self.distro),
            HostFiles::UnderHostMount if path.starts_with('/') => Ok(join_linux(HOST_MOUNT, path)),
            HostFiles::UnderHostMount => Ok(path.to_owned()),
        }
    }

    /// [`rewrite_create_body`] for this distro and host.
    pub fn rewrite_create_body(&self, body: &[u8]) -> Result<Option<Vec<u8>>, PathError> {
        rewrite_body(
            body,
            |path| self.translate(path),
            |bind| self.translate_bind(bind),
        )
    }

    fn translate_bind(&self, bind: &str) -> Result<String, PathError> {
        match self.host {
            HostFiles::WindowsDrives => translate_bind(bind, &self.distro),
            HostFiles::UnderHostMount => {
                let (host, rest) = bind.split_at(bind.find(':').unwrap_or(bind.len()));
                Ok(format!("{}{rest}", self.translate(host)?))
            }
        }
    }
}

/// Translates one host path. Paths that are not Windows paths (already `/...`, or a named
/// volume like `data`) come back unchanged.
///
/// `own_distro` is the name of the engine's distro: `\\wsl$\<own_distro>\x` is its own `/x`.
pub fn translate(path: &str, own_distro: &str) -> Result<String, PathError> {
    // `\\?\C:\...` and `\\?\UNC\server\share` are the long-path forms of the same paths.
    if let Some(rest) = strip_prefix_ci(path, r"\\?\UNC\") {
        return translate(&format!(r"\\{rest}"), own_distro);
    }
    if let Some(rest) = path.strip_prefix(r"\\?\") {
        return translate(rest, own_distro);
    }
    if let Some(rest) = path.strip_prefix(r"\\").or_else(|| path.strip_prefix("//")) {
        return translate_unc(path, rest, own_distro);
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        let drive = (bytes[0] as char).to_ascii_lowercase();
        let rest = &path[2..];
        if !(rest.starts_with('\\') || rest.starts_with('/')) {
            return Err(PathError::DriveRelative {
                path: path.to_owned(),
                drive: drive.to_ascii_uppercase(),
            });
        }
        return Ok(join_linux(&format!("{DRIVES_ROOT}/{drive}"), rest));
    }
    Ok(path.to_owned())
}

fn translate_unc(path: &str, rest: &str, own_distro: &str) -> Result<String, PathError> {
    let mut parts = rest.splitn(3, ['\\', '/']);
    let host = parts.next().unwrap_or_default();
    let share = parts.next().unwrap_or_default();
    let tail = parts.next().unwrap_or_default();
    let is_wsl_host =
        host.eq_ignore_ascii_case("wsl$") || host.eq_ignore_ascii_case("wsl.localhost");
    if !is_wsl_host {
        return Err(PathError::NetworkShare {
            path: path.to_owned(),
        });
    }
    if !share.eq_ignore_ascii_case(own_distro) {
        return Err(PathError::OtherDistro {
            path: path.to_owned(),
            distro: share.to_owned(),
        });
    }
    Ok(join_linux("", &format!("/{tail}")))
}

/// `root` + a path with `\` or `/` separators, with repeated and trailing separators dropped.
fn join_linux(root: &str, rest: &str) -> String {
    let mut out = root.to_owned();
    for part in rest.split(['\\', '/']).filter(|p| !p.is_empty()) {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Translates the host part of a `-v` bind string (`HOST:CONTAINER[:OPTIONS]`).
pub fn translate_bind(bind: &str, own_distro: &str) -> Result<String, PathError> {
    let split_at = host_part_len(bind);
    let (host, rest) = bind.split_at(split_at);
    Ok(format!("{}{rest}", translate(host, own_distro)?))
}

/// Where the host part of `HOST:CONTAINER[:OPTIONS]` ends: after a drive letter's colon, the
/// next colon ends it.
fn host_part_len(bind: &str) -> usize {
    let bytes = bind.as_bytes();
    let skip = if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        2
    } else if let Some(rest) = bind.strip_prefix(r"\\?\") {
        return r"\\?\".len() + host_part_len(rest);
    } else {
        0
    };
    bind[skip..].find(':').map_or(bind.len(), |i| skip + i)
}

/// Rewrites the bind sources of a `POST /containers/create` body. Returns `None` when nothing
/// needed to change (the body is then forwarded byte for byte).
pub fn rewrite_create_body(body: &[u8], own_distro: &str) -> Result<Option<Vec<u8>>, PathError> {
    rewrite_body(
        body,
        |path| translate(path, own_distro),
        |bind| translate_bind(bind, own_distro),
    )
}

fn rewrite_body(
    body: &[u8],
    translate: impl Fn(&str) -> Result<String, PathError>,
    translate_bind: impl Fn(&str) -> Result<String, PathError>,
) -> Result<Option<Vec<u8>>, PathError> {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        // Not JSON: let the engine answer it.
        return Ok(None);
    };
    let mut changed = false;
    if let Some(host_config) = value.get_mut("HostConfig") {
        if let Some(Value::Array(binds)) = host_config.get_mut("Binds") {
            for bind in binds.iter_mut() {
                if let Value::String(s) = bind {
                    let new = translate_bind(s)?;
                    if new != *s {
                        *s = new;
                        changed = true;
                    }
                }
            }
        }
        if let Some(Value::Array(mounts)) = host_config.get_mut("Mounts") {
            for mount in mounts.iter_mut() {
                if mount.get("Type").and_then(Value::as_str) != Some("bind") {
                    continue;
                }
                if let Some(Value::String(source)) = mount.get_mut("Source") {
                    let new = translate(source)?;
                    if new != *source {
                        *source = new;
                        changed = true;
                    }
                }
            }
        }
    }
    Ok(changed.then(|| serde_json::to_vec(&value).expect("a JSON value re-encodes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "berth";

    #[test]
    fn translates_windows_paths() {
        let cases = [
            (r"C:\Users\me\app", "/mnt/c/Users/me/app"),
            (r"c:\users\me", "/mnt/c/users/me"),
            ("C:/Users/me/app", "/mnt/c/Users/me/app"),
            (r"D:\Projects\My App\src", "/mnt/d/Projects/My App/src"),
            (r"C:\Users\me\app\", "/mnt/c/Users/me/app"),
            (r"C:\", "/mnt/c"),
            (r"C:\Users/me\mixed/seps", "/mnt/c/Users/me/mixed/seps"),
            (r"C:\Users\\me\\\double", "/mnt/c/Users/me/double"),
            (r"E:\data\..\other", "/mnt/e/data/../other"),
            (r"\\?\C:\very\long\path", "/mnt/c/very/long/path"),
            (r"\\wsl$\berth\var\lib\data", "/var/lib/data"),
            (r"\\wsl.localhost\berth\home\me", "/home/me"),
            (r"\\WSL$\Berth\etc", "/etc"),
            (r"\\wsl$\berth", "/"),
            ("//wsl$/berth/srv", "/srv"),
            (
                r"C:\Users\Zoë\Projekte\ünïcode",
                "/mnt/c/Users/Zoë/Projekte/ünïcode",
            ),
            ("/home/me/app", "/home/me/app"),
            ("named-volume", "named-volume"),
        ];
        for (windows, linux) in cases {
            assert_eq!(translate(windows, D).unwrap(), linux, "{windows}");
        }
    }

    #[test]
    fn refuses_what_the_engine_cannot_see() {
        assert!(matches!(
            translate(r"\\fileserver\team\repo", D),
            Err(PathError::NetworkShare { .. })
        ));
        assert!(matches!(
            translate(r"\\?\UNC\fileserver\team", D),
            Err(PathError::NetworkShare { .. })
        ));
        assert!(matches!(
            translate(r"\\wsl$\Ubuntu\home\me", D),
            Err(PathError::OtherDistro { distro, .. }) if distro == "Ubuntu"
        ));
        let err = translate("C:relative", D).unwrap_err();
        assert!(matches!(err, PathError::DriveRelative { drive: 'C', .. }));
        assert!(err.to_string().contains(r"C:\folder"), "{err}");
    }

    #[test]
    fn translates_bind_strings() {
        let cases = [
            (r"C:\Users\me\app:/src", "/mnt/c/Users/me/app:/src"),
            (r"C:\Users\me\app:/src:ro", "/mnt/c/Users/me/app:/src:ro"),
            (r"d:\My Data:/data:rw,z", "/mnt/d/My Data:/data:rw,z"),
            (r"\\wsl$\berth\srv:/srv", "/srv:/srv"),
            (r"\\?\C:\x:/x", "/mnt/c/x:/x"),
            ("/home/me:/src", "/home/me:/src"),
            ("vol:/data", "vol:/data"),
            ("/only/host", "/only/host"),
        ];
        for (windows, linux) in cases {
            assert_eq!(translate_bind(windows, D).unwrap(), linux, "{windows}");
        }
    }

    #[test]
    fn rewrites_binds_and_bind_mounts_in_a_create_body() {
        let body = serde_json::json!({
            "Image": "alpine",
            "HostConfig": {
                "Binds": [r"C:\Users\me\app:/src:ro", "vol:/data"],
                "Mounts": [
                    {"Type": "bind", "Source": r"D:\cache", "Target": "/cache"},
                    {"Type": "volume", "Source": "C:named", "Target": "/v"},
                ]
            }
        });
        let out = rewrite_create_body(body.to_string().as_bytes(), D)
            .unwrap()
            .expect("changed");
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            out["HostConfig"]["Binds"],
            serde_json::json!(["/mnt/c/Users/me/app:/src:ro", "vol:/data"])
        );
        assert_eq!(out["HostConfig"]["Mounts"][0]["Source"], "/mnt/d/cache");
        assert_eq!(
            out["HostConfig"]["Mounts"][1]["Source"], "C:named",
            "volume sources are names, not paths"
        );
        assert_eq!(out["Image"], "alpine");
    }

    #[test]
    fn a_linux_hosts_paths_go_under_the_stand_ins_mount() {
        let paths = DistroPaths {
            distro: D.into(),
            host: HostFiles::UnderHostMount,
        };
        assert_eq!(
            paths.translate("/home/ada/app").unwrap(),
            "/mnt/host/home/ada/app"
        );
        assert_eq!(paths.translate("data").unwrap(), "data");
        let body = br#"{"HostConfig":{"Binds":["/home/ada:/src:ro","named:/v"],"Mounts":[{"Type":"bind","Source":"/tmp/x","Target":"/x"}]}}"#;
        let out = paths.rewrite_create_body(body).unwrap().expect("rewritten");
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["HostConfig"]["Binds"][0], "/mnt/host/home/ada:/src:ro");
        assert_eq!(v["HostConfig"]["Binds"][1], "named:/v");
        assert_eq!(v["HostConfig"]["Mounts"][0]["Source"], "/mnt/host/tmp/x");
        // Windows drives are WSL's own translation.
        let windows = DistroPaths {
            host: HostFiles::WindowsDrives,
            ..paths
        };
        assert_eq!(windows.translate(r"C:\src").unwrap(), "/mnt/c/src");
    }

    #[test]
    fn an_untouched_body_is_forwarded_as_is() {
        let body = br#"{"Image":"alpine","HostConfig":{"Binds":["/home/me:/src"]}}"#;
        assert_eq!(rewrite_create_body(body, D).unwrap(), None);
        assert_eq!(rewrite_create_body(b"not json", D).unwrap(), None);
        assert_eq!(rewrite_create_body(b"{}", D).unwrap(), None);
    }

    #[test]
    fn a_share_in_a_create_body_is_refused_with_its_reason() {
        let body = br#"{"HostConfig":{"Binds":["\\\\nas\\media:/media"]}}"#;
        assert!(matches!(
            rewrite_create_body(body, D),
            Err(PathError::NetworkShare { .. })
        ));
    }
}
