//! Building an image from a context directory: the directory is tarred here (honoring
//! `.dockerignore`) and sent to the engine's classic builder, whose output is streamed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bollard::models::BuildInfo;
use bollard::query_parameters as q;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// How to build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BuildOptions {
    /// Path of the Dockerfile inside the context.
    pub dockerfile: String,
    /// `repo[:tag]` to name the result.
    pub tag: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    /// Always try to pull newer base images.
    pub pull: bool,
    /// Build up to this stage of a multi-stage Dockerfile.
    pub target: Option<String>,
    /// The network `RUN` steps use (`default`, `none`, `host`, a network's name).
    pub network: Option<String>,
    /// `/dev/shm` of the build's containers, bytes.
    pub shm_size: Option<i64>,
    /// Images the builder may reuse layers from.
    pub cache_from: Vec<String>,
    /// `os[/arch[/variant]]` to build for.
    pub platform: Option<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            dockerfile: "Dockerfile".into(),
            tag: None,
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            no_cache: false,
            pull: false,
            target: None,
            network: None,
            shm_size: None,
            cache_from: Vec::new(),
            platform: None,
        }
    }
}

/// One message of build output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildProgress {
    /// Builder output text (`Step 1/3 : FROM scratch\n`, ...).
    pub stream: Option<String>,
    /// Pull progress of a base image, when the builder pulls one.
    pub status: Option<String>,
    pub layer_id: Option<String>,
    pub current: Option<i64>,
    pub total: Option<i64>,
}

impl From<BuildInfo> for BuildProgress {
    fn from(b: BuildInfo) -> Self {
        let detail = b.progress_detail.unwrap_or_default();
        BuildProgress {
            stream: b.stream,
            status: b.status,
            layer_id: b.id,
            current: detail.current,
            total: detail.total,
        }
    }
}

/// `.dockerignore` rules: the last pattern matching a path decides (`!` re-includes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    rules: Vec<(bool, Vec<String>)>,
}

impl IgnoreRules {
    pub fn parse(text: &str) -> Self {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let (include, pat) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, l),
                };
                let parts: Vec<String> = pat
                    .split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .map(str::to_string)
                    .collect();
                (!parts.is_empty()).then_some((include, parts))
            })
            .collect();
        IgnoreRules { rules }
    }

    /// Whether `rel` (a `/`-separated path inside the context) is left out. A pattern
    /// matching a parent directory leaves out everything below it.
    pub fn is_excluded(&self, rel: &str) -> bool {
        let comps: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        let mut excluded = false;
        for (include, pattern) in &self.rules {
            let pat: Vec<&str> = pattern.iter().map(String::as_str).collect();
            let hit = (1..=comps.len()).any(|n| match_components(&pat, &comps[..n]));
            if hit {
                excluded = !include;
            }
        }
        excluded
    }
}

fn match_components(pat: &[&str], path: &[&str]) -> bool {
    match (pat.first(), path.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            match_components(&pat[1..], path)
                || (!path.is_empty() && match_components(pat, &path[1..]))
        }
        (Some(p), Some(c)) => {
            wildcard(p.as_bytes(), c.as_bytes()) && match_components(&pat[1..], &path[1..])
        }
        _ => false,
    }
}

/// `*` and `?` within one path component.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], s) || (!s.is_empty() && wildcard(p, &s[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wildcard(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Tars `dir` (uncompressed) leaving out what `.dockerignore` excludes; the Dockerfile and
/// `.dockerignore` themselves are always sent, as the engine needs them.
pub fn tar_context(dir: &Path, dockerfile: &str) -> Result<Vec<u8>, EngineError> {
    let rules = match std::fs::read_to_string(dir.join(".dockerignore")) {
        Ok(t) => IgnoreRules::parse(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => IgnoreRules::default(),
        Err(e) => return Err(EngineError::io(dir.join(".dockerignore"), e)),
    };
    let keep = [dockerfile.trim_start_matches("./"), ".dockerignore"];
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut stack = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let abs = dir.join(&rel_dir);
        let mut entries: Vec<_> = std::fs::read_dir(&abs)
            .map_err(|e| EngineError::io(&abs, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| EngineError::io(&abs, e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let rel = rel_dir.join(entry.file_name());
            let rel_str = rel.to_string_lossy().replace('\\', "/");
            let file_type = entry
                .file_type()
                .map_err(|e| EngineError::io(entry.path(), e))?;
            let excluded = rules.is_excluded(&rel_str) && !keep.contains(&rel_str.as_str());
            if file_type.is_dir() {
                // Descend even into excluded dirs: a later `!` rule may re-include a file.
                stack.push(rel.clone());
                if excluded {
                    continue;
                }
            } else if excluded {
                continue;
            }
            builder
                .append_path_with_name(entry.path(), &rel)
                .map_err(|e| EngineError::io(entry.path(), e))?;
        }
    }
    builder.into_inner().map_err(|e| EngineError::io(dir, e))
}

impl Engine {
    /// Builds `context_dir` with the classic builder, streaming its output. The tar is made
    /// before the stream is returned, so a bad directory fails here.
    pub async fn build_image(
        &self,
        context_dir: &Path,
        options: &BuildOptions,
    ) -> Result<impl Stream<Item = Result<BuildProgress, EngineError>> + Send + '_, EngineError>
    {
        if let Some(tag) = &options.tag {
            if tag.is_empty() || tag.contains(char::is_whitespace) {
                return Err(EngineError::invalid(
                    "tag",
                    "must be a reference without spaces",
                ));
            }
        }
        let dir = context_dir.to_path_buf();
        let dockerfile = options.dockerfile.clone();
        if !dir.join(&dockerfile).is_file() {
            return Err(EngineError::invalid(
                "dockerfile",
                format!("{} not found in {}", dockerfile, dir.display()),
            ));
        }
        let tar = tokio::task::spawn_blocking(move || tar_context(&dir, &dockerfile))
            .await
            .map_err(|e| EngineError::Engine {
                status: None,
                message: format!("tarring the build context failed: {e}"),
            })??;
        let opts = q::BuildImageOptions {
            dockerfile: options.dockerfile.clone(),
            t: options.tag.clone(),
            buildargs: Some(options.build_args.clone().into_iter().collect()),
            labels: Some(options.labels.clone().into_iter().collect()),
            nocache: options.no_cache,
            pull: options.pull.then(|| "1".to_string()),
            target: options.target.clone().unwrap_or_default(),
            networkmode: options.network.clone(),
            shmsize: options.shm_size.and_then(|b| i32::try_from(b).ok()),
            cachefrom: (!options.cache_from.is_empty()).then(|| options.cache_from.clone()),
            platform: options.platform.clone().unwrap_or_default(),
            rm: true,
            ..Default::default()
        };
        let err = self.err();
        Ok(self
            .docker_transfer
            .build_image(opts, None, Some(bollard::body_full(tar.into())))
            .map(move |r| r.map(BuildProgress::from).map_err(&err)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules() {
        let rules = IgnoreRules::parse(
            "# comment\n\nnode_modules\n*.log\n/build/\ndocs/**/*.md\n!docs/keep/README.md\n**/secret\n",
        );
        assert!(rules.is_excluded("node_modules"));
        assert!(rules.is_excluded("node_modules/x/y.js"));
        assert!(rules.is_excluded("debug.log"));
        assert!(
            !rules.is_excluded("sub/debug.log"),
            "* does not cross directories"
        );
        assert!(rules.is_excluded("build/out.bin"));
        assert!(rules.is_excluded("docs/a/b/c.md"));
        assert!(rules.is_excluded("docs/c.md"));
        assert!(!rules.is_excluded("docs/keep/README.md"));
        assert!(rules.is_excluded("a/b/secret"));
        assert!(!rules.is_excluded("src/main.rs"));
    }

    #[test]
    fn tar_leaves_out_ignored_files_but_keeps_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(p.join(".dockerignore"), "*\n!hello.txt\n").unwrap();
        std::fs::write(p.join("hello.txt"), "hi").unwrap();
        std::fs::write(p.join("big.bin"), "xx").unwrap();
        std::fs::create_dir(p.join("sub")).unwrap();
        std::fs::write(p.join("sub/x"), "x").unwrap();
        let bytes = tar_context(p, "Dockerfile").unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".dockerignore", "Dockerfile", "hello.txt"]);
    }
}
