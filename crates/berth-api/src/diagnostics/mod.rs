//! The diagnostics bundle (`berth diagnose`, Troubleshoot > "Get diagnostics"): one `.tar.gz`
//! with what a person helping the user needs — versions, settings, the engine's state and
//! history, Berth's logs and the VM console, `docker info` — and no secret: every text file
//! passes through [`redact`] on its way in.

pub mod redact;

use std::io::Write;
use std::path::{Path, PathBuf};

use berth_core::{atomic_file, ApiError, ErrorCode};
use serde::Serialize;

use crate::Berth;

pub use redact::redact;

/// The most of one log file that goes in (its end: the newest lines).
const LOG_TAIL_BYTES: usize = 4 << 20;
/// The most containers whose inspect goes in (the engine lists the newest first).
const MAX_CONTAINERS: usize = 200;

/// What one bundle holds, for the caller to show.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub path: PathBuf,
    pub files: Vec<String>,
    pub bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Versions {
    berth: &'static str,
    os: &'static str,
    arch: &'static str,
    kernel: Option<String>,
}

impl Berth {
    /// Writes a diagnostics bundle to `out` (atomically) and lists what it holds.
    pub async fn diagnostics_bundle(&self, out: &Path) -> Result<Bundle, ApiError> {
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        let mut add_json = |name: &str, value: &dyn erased::Json| {
            entries.push((name.to_owned(), value.redacted_pretty().into_bytes()));
        };
        add_json(
            "versions.json",
            &Versions {
                berth: env!("CARGO_PKG_VERSION"),
                os: std::env::consts::OS,
                arch: std::env::consts::ARCH,
                kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                    .ok()
                    .map(|s| s.trim().to_owned()),
            },
        );
        add_json("status.json", &self.status().await);
        match self.engine().await {
            Ok(engine) => match engine.info().await {
                Ok(info) => add_json("docker-info.json", &info),
                Err(e) => add_json("docker-info.json", &ApiError::from_error(e.code(), &e)),
            },
            Err(e) => add_json("docker-info.json", &e),
        }
        add_json("containers.json", &self.containers_inspected().await);
        let settings_file = self.paths().settings_file();
        if let Ok(text) = std::fs::read_to_string(&settings_file) {
            entries.push(("settings.toml".into(), redact(&text).into_bytes()));
        }
        entries.extend(log_entries(&self.paths().logs_dir));
        write_tar_gz(out, &entries)
    }

    /// What a helper asks first: every container's inspect (the newest [`MAX_CONTAINERS`]),
    /// or why there is none. Secrets go by [`redact::redact_json`] like every JSON entry.
    async fn containers_inspected(&self) -> serde_json::Value {
        let unavailable = |e: ApiError| serde_json::json!({ "error": e });
        let engine = match self.engine().await {
            Ok(engine) => engine,
            Err(e) => return unavailable(e),
        };
        let filter = berth_engine::ContainerFilter {
            all: true,
            ..Default::default()
        };
        let list = match engine.list_containers(&filter).await {
            Ok(list) => list,
            Err(e) => return unavailable(ApiError::from_error(e.code(), &e)),
        };
        let mut inspected = Vec::new();
        for summary in list.iter().take(MAX_CONTAINERS) {
            match engine.inspect_container(&summary.id).await {
                Ok(inspect) => inspected.push(serde_json::to_value(inspect).unwrap_or_default()),
                // Removed since it was listed: nothing to tell.
                Err(e) if e.code() == ErrorCode::NotFound => {}
                Err(e) => inspected.push(serde_json::json!({
                    "Id": summary.id,
                    "error": ApiError::from_error(e.code(), &e),
                })),
            }
        }
        serde_json::Value::Array(inspected)
    }
}

/// Every file in the logs dir (and one level below), its tail, redacted.
fn log_entries(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() && depth == 0 => stack.push((path, depth + 1)),
                Ok(t) if t.is_file() => files.push(path),
                _ => {}
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            let tail = &bytes[bytes.len().saturating_sub(LOG_TAIL_BYTES)..];
            let name = path.strip_prefix(dir).ok()?.to_string_lossy().into_owned();
            Some((
                format!("logs/{name}"),
                redact(&String::from_utf8_lossy(tail)).into_bytes(),
            ))
        })
        .collect()
}

fn write_tar_gz(out: &Path, entries: &[(String, Vec<u8>)]) -> Result<Bundle, ApiError> {
    let io_error = |e: std::io::Error| {
        ApiError::new(
            ErrorCode::Io,
            format!("cannot write the diagnostics bundle {}: {e}", out.display()),
        )
    };
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let root = "berth-diagnostics";
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{root}/{name}"), data.as_slice())
            .map_err(io_error)?;
    }
    let mut gz = tar.into_inner().map_err(io_error)?;
    gz.flush().map_err(io_error)?;
    let bytes = gz.finish().map_err(io_error)?;
    atomic_file::write(out, &bytes, 0o600).map_err(io_error)?;
    Ok(Bundle {
        path: out.to_path_buf(),
        files: entries.iter().map(|(n, _)| n.clone()).collect(),
        bytes: bytes.len() as u64,
    })
}

/// Redacted pretty JSON behind `dyn`, so one closure takes any serializable value.
mod erased {
    pub trait Json {
        fn redacted_pretty(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn redacted_pretty(&self) -> String {
            serde_json::to_value(self)
                .map(|v| super::redact::redact_json(&v))
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::BerthPaths;

    #[tokio::test]
    async fn a_bundle_holds_versions_settings_and_logs_with_secrets_removed() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        paths.ensure().unwrap();
        std::fs::write(
            paths.settings_file(),
            "[engine]\nendpoint = \"tcp://ada:planted-pass-1@127.0.0.1:1\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(paths.logs_dir.join("vm")).unwrap();
        std::fs::write(
            paths.logs_dir.join("berth.log"),
            "started\nAuthorization: Bearer planted-token-2\n",
        )
        .unwrap();
        std::fs::write(
            paths.logs_dir.join("vm").join("console.log"),
            "dockerd up\n{\"password\": \"planted-pass-3\"}\n",
        )
        .unwrap();
        let berth = Berth::open_at(paths).unwrap();
        let out = home.path().join("bundle.tar.gz");
        let bundle = berth.diagnostics_bundle(&out).await.unwrap();
        assert_eq!(bundle.path, out);
        let entries = berth_testkit::read_tar_gz(&out);
        let names: Vec<_> = entries.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "berth-diagnostics/versions.json",
            "berth-diagnostics/status.json",
            "berth-diagnostics/docker-info.json",
            "berth-diagnostics/containers.json",
            "berth-diagnostics/settings.toml",
            "berth-diagnostics/logs/berth.log",
            "berth-diagnostics/logs/vm/console.log",
        ] {
            assert!(names.contains(&expected), "{expected} in {names:?}");
        }
        let all: String = entries.iter().map(|(_, t)| t.as_str()).collect();
        for secret in ["planted-pass-1", "planted-token-2", "planted-pass-3"] {
            assert!(!all.contains(secret), "{secret} leaked");
        }
        assert!(all.contains("dockerd up"), "ordinary log lines are kept");
        let status = entries
            .iter()
            .find(|(n, _)| n.ends_with("status.json"))
            .unwrap();
        assert!(status.1.contains("engine_unreachable"), "{}", status.1);
    }
}
