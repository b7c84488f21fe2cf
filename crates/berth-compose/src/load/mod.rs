//! Loading a compose project: files, `.env`, interpolation, `extends`, merging, profiles,
//! the project name, and validation of references.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::decode::{self, Ctx};
use crate::error::LoadError;
use crate::interpolate::Vars;
use crate::merge;
use crate::model::*;
use crate::yaml::{self, Node, Value};

/// The default file names, in the order compose looks for them.
pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// How to load a project. `environment` is the process environment (injected for tests).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files; empty means: `COMPOSE_FILE`, else the default names in `working_dir`.
    pub files: Vec<PathBuf>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--project-directory`; default: the first file's directory.
    pub project_dir: Option<PathBuf>,
    /// `--env-file`; default: `<project dir>/.env` when it exists.
    pub env_files: Vec<PathBuf>,
    /// `--profile` (plus `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
    /// Services named on the command line: enabled whatever their profiles.
    pub services: Vec<String>,
    pub environment: BTreeMap<String, String>,
    /// Where relative `-f` paths and the default file search start.
    pub working_dir: PathBuf,
}

impl LoadOptions {
    /// Options using this process's environment and current directory.
    pub fn from_process() -> Self {
        Self {
            environment: std::env::vars().collect(),
            working_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            ..Default::default()
        }
    }
}

pub(super) fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|e| LoadError::File {
        file: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })
}

/// Loads a project from files on disk.
pub fn load(opts: &LoadOptions) -> Result<Project, LoadError> {
    let files = resolve_files(opts)?;
    let sources = files
        .iter()
        .map(|f| read(f).map(|text| (f.clone(), text)))
        .collect::<Result<Vec<_>, _>>()?;
    load_sources(sources, opts)
}

fn resolve_files(opts: &LoadOptions) -> Result<Vec<PathBuf>, LoadError> {
    let abs = |p: &Path| decode::clean(&opts.working_dir.join(p));
    if !opts.files.is_empty() {
        return Ok(opts.files.iter().map(|f| abs(f)).collect());
    }
    if let Some(list) = opts.environment.get("COMPOSE_FILE") {
        let sep = opts
            .environment
            .get("COMPOSE_PATH_SEPARATOR")
            .map_or(":", String::as_str);
        return Ok(list
            .split(sep)
            .filter(|s| !s.is_empty())
            .map(|f| abs(Path::new(f)))
            .collect());
    }
    let mut dir = Some(opts.working_dir.as_path());
    while let Some(d) = dir {
        if let Some(found) = DEFAULT_FILES
            .iter()
            .map(|n| d.join(n))
            .find(|p| p.is_file())
        {
            let over = found.with_file_name(match found.extension().and_then(|e| e.to_str()) {
                Some("yml") => "compose.override.yml",
                _ => "compose.override.yaml",
            });
            let legacy = found.with_file_name("docker-compose.override.yml");
            let mut files = vec![found];
            files.extend([over, legacy].into_iter().find(|p| p.is_file()));
            return Ok(files);
        }
        dir = d.parent();
    }
    Err(LoadError::project(format!(
        "no configuration file provided: not found (looked for {} in {} and its parents)",
        DEFAULT_FILES.join(", "),
        opts.working_dir.display()
    )))
}

/// Loads a project from in-memory sources (path, text); other files (`.env`, `env_file`,
/// `extends: {file}`) are still read from disk relative to the project directory.
pub fn load_sources(
    sources: Vec<(PathBuf, String)>,
    opts: &LoadOptions,
) -> Result<Project, LoadError> {
    let Some((first, _)) = sources.first() else {
        return Err(LoadError::project("no compose file given"));
    };
    let project_dir = match &opts.project_dir {
        Some(d) => decode::clean(&opts.working_dir.join(d)),
        None => first
            .parent()
            .map_or_else(|| opts.working_dir.clone(), Path::to_path_buf),
    };
    let env = environment(opts, &project_dir)?;
    let mut warnings = Vec::new();

    let mut root: Option<Node> = None;
    for (file, text) in &sources {
        let mut tree = yaml::parse(text, file)?;
        if !matches!(tree.value, Value::Map(_)) {
            return Err(LoadError::at(
                &tree.pos,
                "(root)",
                format!("a compose file must be a mapping, found {}", tree.kind()),
            ));
        }
        let mut vars = Vars::new(&env);
        interpolate(&mut tree, &mut vars, "")?;
        for name in vars.unset {
            warnings.push(format!(
                "the {name} variable is not set; defaulting to a blank string"
            ));
        }
        if tree.remove("version").is_some() {
            warnings.push(format!(
                "{}: the attribute `version` is obsolete and ignored",
                file.display()
            ));
        }
        resolve_extends(&mut tree, file, &env, 0)?;
        match &mut root {
            None => root = Some(tree),
            Some(r) => merge::merge_file(r, tree),
        }
    }
    let mut root = root.unwrap_or_else(|| unreachable_root(first));
    merge::strip_merge_tags(&mut root);
    let mut chain: Vec<PathBuf> = sources.iter().map(|(f, _)| f.clone()).collect();
    include::resolve_includes(&mut root, &project_dir, &env, &mut warnings, &mut chain)?;
    let mut project = build_project(&root, opts, &env, &project_dir)?;
    project.config_files = sources.into_iter().map(|(f, _)| f).collect();
    project.warnings.extend(warnings);
    Ok(project)
}

fn unreachable_root(file: &Path) -> Node {
    Node::new(
        yaml::Pos {
            file: std::sync::Arc::from(file),
            line: 1,
        },
        Value::Map(Vec::new()),
    )
}

/// The variables for interpolation: the project's `.env` (or `--env-file`s), overridden by
/// the process environment.
fn environment(
    opts: &LoadOptions,
    project_dir: &Path,
) -> Result<BTreeMap<String, String>, LoadError> {
    let mut env = BTreeMap::new();
    // `--env-file`, else COMPOSE_ENV_FILES (comma-separated), else `.env` unless
    // COMPOSE_DISABLE_ENV_FILE is true.
    let from_env: Vec<PathBuf> = opts
        .environment
        .get("COMPOSE_ENV_FILES")
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    let disabled = opts
        .environment
        .get("COMPOSE_DISABLE_ENV_FILE")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    let explicit = if opts.env_files.is_empty() {
        &from_env
    } else {
        &opts.env_files
    };
    let files: Vec<(PathBuf, bool)> = if !explicit.is_empty() {
        explicit
            .iter()
            .map(|f| (decode::clean(&opts.working_dir.join(f)), true))
            .collect()
    } else if disabled {
        Vec::new()
    } else {
        vec![(project_dir.join(".env"), false)]
    };
    for (file, required) in files {
        if !file.is_file() && !required {
            continue;
        }
        let text = read(&file)?;
        let pairs = crate::dotenv::parse(&text, &opts.environment).map_err(|(line, message)| {
            LoadError::Syntax {
                file: file.clone(),
                line,
                message,
            }
        })?;
        env.extend(pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    }
    env.extend(opts.environment.clone());
    Ok(env)
}

/// Interpolates every scalar value (keys are left alone; `x-` extensions too).
fn interpolate(n: &mut Node, vars: &mut Vars, path: &str) -> Result<(), LoadError> {
    match &mut n.value {
        Value::Scalar { text, .. } => match vars.interpolate(text) {
            Ok(t) => *text = t,
            Err(e) => return Err(LoadError::at(&n.pos, path, e.to_string())),
        },
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, vars, &format!("{path}[{i}]"))?;
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                if k.starts_with("x-") {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                interpolate(v, vars, &p)?;
            }
        }
        Value::Null => {}
    }
    Ok(())
}

/// Replaces each service's `extends` with the merge of its base and itself.
fn resolve_extends(
    tree: &mut Node,
    file: &Path,
    env: &BTreeMap<String, String>,
    depth: usize,
) -> Result<(), LoadError> {
    let Some(services) = tree.get("services") else {
        return Ok(());
    };
    let Value::Map(entries) = &services.value else {
        return Ok(());
    };
    let names: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    let snapshot = services.clone();
    let mut resolved: Vec<(String, Node)> = Vec::new();
    for name in &names {
        let mut chain = Vec::new();
        let node = extend_one(&snapshot, name, file, env, depth, &mut chain)?;
        resolved.push((name.clone(), node));
    }
    if let Some(services) = tree.get_mut("services") {
        services.value = Value::Map(resolved);
    }
    Ok(())
}

fn extend_one(
    services: &Node,
    name: &str,
    file: &Path,
    env: &BTreeMap<String, String>,
    depth: usize,
    chain: &mut Vec<String>,
) -> Result<Node, LoadError> {
    let field = format!("services.{name}");
    let Some(svc) = services.get(name) else {
        return Err(LoadError::project(format!(
            "{}: cannot extend service {name:?}: no such service",
            file.display()
        )));
    };
    let mut svc = svc.clone();
    let Some(ext) = svc.remove("extends") else {
        return Ok(svc);
    };
    let f = format!("{field}.extends");
    let (base_name, base_file) = match &ext.value {
        Value::Scalar { text, .. } => (text.clone(), None),
        Value::Map(_) => {
            let s = ext
                .get("service")
                .ok_or_else(|| LoadError::at(&ext.pos, &f, "missing `service`"))?;
            let s = decode::scalar(s, &format!("{f}.service"))?;
            let file = ext
                .get("file")
                .map(|x| decode::scalar(x, &format!("{f}.file")))
                .transpose()?;
            (s, file)
        }
        _ => return Err(LoadError::at(&ext.pos, &f, "must be a string or a mapping")),
    };
    let key = format!("{}#{base_name}", base_file.as_deref().unwrap_or(""));
    if chain.contains(&key) || depth > 20 || chain.len() > 50 {
        let names: Vec<&str> = chain
            .iter()
            .map(|k| k.rsplit('#').next().unwrap_or(k))
            .chain(std::iter::once(base_name.as_str()))
            .collect();
        return Err(LoadError::at(
            &ext.pos,
            &f,
            format!("circular extends: {}", names.join(" -> ")),
        ));
    }
    chain.push(key);
    let mut base = match base_file {
        None => extend_one(services, &base_name, file, env, depth, chain)?,
        Some(other) => {
            let dir = file.parent().unwrap_or(Path::new("."));
            let path = decode::clean(&dir.join(&other));
            let text = read(&path).map_err(|_| {
                LoadError::at(
                    &ext.pos,
                    &format!("{f}.file"),
                    format!("cannot read {}", path.display()),
                )
            })?;
            let mut tree = yaml::parse(&text, &path)?;
            let mut vars = Vars::new(env);
            interpolate(&mut tree, &mut vars, "")?;
            let others = tree
                .get("services")
                .cloned()
                .unwrap_or_else(|| Node::new(tree.pos.clone(), Value::Map(Vec::new())));
            let mut sub_chain = chain.clone();
            let mut b = extend_one(&others, &base_name, &path, env, depth + 1, &mut sub_chain)
                .map_err(|e| match e {
                    LoadError::Project { .. } => LoadError::at(
                        &ext.pos,
                        &f,
                        format!("service {base_name:?} not found in {}", path.display()),
                    ),
                    other => other,
                })?;
            rebase_paths(&mut b, path.parent().unwrap_or(Path::new(".")));
            b
        }
    };
    // The base's depends_on is not inherited (spec: "extends" does not carry dependencies).
    base.remove("depends_on");
    merge::merge_service(&mut base, svc);
    Ok(base)
}

/// Makes relative paths in a service from another directory (an `extends: {file}` or an
/// included file) absolute against that directory: the build context, bind sources,
/// `env_file` and `label_file`.
fn rebase_paths(svc: &mut Node, dir: &Path) {
    let remote =
        |t: &str| t.contains("://") || t.starts_with("git@") || t.starts_with("github.com/");
    if let Some(b) = svc.get_mut("build") {
        let context = match &mut b.value {
            Value::Scalar { .. } => Some(b),
            Value::Map(_) => b.get_mut("context"),
            _ => None,
        };
        if let Some(c) = context {
            if !matches!(&c.value, Value::Scalar { text, .. } if remote(text)) {
                include::absolute(c, dir);
            }
        }
    }
    if let Some(Node {
        value: Value::Seq(items),
        ..
    }) = svc.get_mut("volumes")
    {
        for v in items {
            match &mut v.value {
                Value::Scalar { text, .. } if text.starts_with('.') => {
                    if let Some((src, rest)) = text.split_once(':') {
                        *text = format!("{}:{rest}", decode::clean(&dir.join(src)).display());
                    }
                }
                Value::Map(_) => {
                    let bind = matches!(v.get("type"), Some(Node { value: Value::Scalar { text, .. }, .. }) if text == "bind");
                    if let Some(s) = v.get_mut("source").filter(|_| bind) {
                        include::absolute(s, dir);
                    }
                }
                _ => {}
            }
        }
    }
    for key in ["env_file", "label_file"] {
        if let Some(e) = svc.get_mut(key) {
            match &mut e.value {
                Value::Scalar { .. } => include::absolute(e, dir),
                Value::Seq(items) => {
                    for item in items {
                        match item.get_mut("path") {
                            Some(p) => include::absolute(p, dir),
                            None => include::absolute(item, dir),
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Lowercase, only `[a-z0-9_-]`, starting with a letter or digit.
pub fn normalize_project_name(raw: &str) -> String {
    let lower: String = raw
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower.trim_start_matches(['_', '-']).to_string()
}

fn valid_project_name(name: &str) -> bool {
    !name.is_empty() && normalize_project_name(name) == name
}

fn project_name(
    root: &Node,
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    project_dir: &Path,
) -> Result<String, LoadError> {
    let explicit = opts
        .project_name
        .clone()
        .or_else(|| env.get("COMPOSE_PROJECT_NAME").cloned())
        .filter(|n| !n.is_empty());
    if let Some(name) = explicit {
        if !valid_project_name(&name) {
            return Err(LoadError::project(format!(
                "invalid project name {name:?}: it must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit"
            )));
        }
        return Ok(name);
    }
    if let Some(n) = root.get("name") {
        let name = decode::scalar(n, "name")?;
        if !valid_project_name(&name) {
            return Err(LoadError::at(
                &n.pos,
                "name",
                format!("invalid project name {name:?}: it must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit"),
            ));
        }
        return Ok(name);
    }
    let dir = project_dir
        .file_name()
        .map(|d| d.to_string_lossy().to_string())
        .unwrap_or_default();
    let name = normalize_project_name(&dir);
    if name.is_empty() {
        return Err(LoadError::project(format!(
            "project name {dir:?} (from the directory) is empty once normalized; use -p"
        )));
    }
    Ok(name)
}

fn build_project(
    root: &Node,
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    project_dir: &Path,
) -> Result<Project, LoadError> {
    let name = project_name(root, opts, env, project_dir)?;
    let home = env.get("HOME").map(PathBuf::from);
    let ctx = Ctx {
        project_dir,
        home: home.as_deref(),
        env,
    };
    let mut project = Project {
        name: name.clone(),
        working_dir: project_dir.to_path_buf(),
        ..Default::default()
    };
    let Value::Map(entries) = &root.value else {
        return Ok(project);
    };
    for (key, v) in entries {
        match key.as_str() {
            "name" | "version" => {}
            "services" => {
                let Value::Map(services) = &v.value else {
                    if v.is_null() {
                        continue;
                    }
                    return Err(LoadError::at(&v.pos, "services", "must be a mapping"));
                };
                for (svc_name, svc) in services {
                    let s = decode::service(svc_name, svc, &ctx)?;
                    for e in &s.not_for_containers {
                        project
                            .warnings
                            .push(format!("{e} (up, create and run refuse it)"));
                    }
                    project.services.insert(svc_name.clone(), s);
                }
            }
            "networks" => {
                for (k, n) in named_map(v, "networks")? {
                    let net = decode::network(k, n, &format!("networks.{k}"), &name)?;
                    project.networks.insert(k.clone(), net);
                }
            }
            "volumes" => {
                for (k, n) in named_map(v, "volumes")? {
                    let vol = decode::volume(k, n, &format!("volumes.{k}"), &name)?;
                    project.volumes.insert(k.clone(), vol);
                }
            }
            "secrets" | "configs" => {
                for (k, n) in named_map(v, key)? {
                    let o = decode::file_object(n, &format!("{key}.{k}"), &ctx)?;
                    if key == "secrets" {
                        project.secrets.insert(k.clone(), o);
                    } else {
                        project.configs.insert(k.clone(), o);
                    }
                }
            }
            "models" => {
                return Err(decode::refused(
                    v,
                    key,
                    "AI models (Docker Model Runner) are not provided by Berth's engine",
                ))
            }
            k if k.starts_with("x-") => {}
            _ => return Err(LoadError::at(&v.pos, key, "unknown top-level attribute")),
        }
    }
    apply_profiles(&mut project, opts, env, root)?;
    add_default_network(&mut project);
    validate(&project, root)?;
    Ok(project)
}

fn named_map<'n>(v: &'n Node, field: &str) -> Result<&'n [(String, Node)], LoadError> {
    match &v.value {
        Value::Map(entries) => Ok(entries),
        Value::Null => Ok(&[]),
        _ => Err(LoadError::at(&v.pos, field, "must be a mapping")),
    }
}

fn apply_profiles(
    project: &mut Project,
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    root: &Node,
) -> Result<(), LoadError> {
    let mut active: BTreeSet<String> = opts.profiles.iter().cloned().collect();
    if let Some(p) = env.get("COMPOSE_PROFILES") {
        active.extend(
            p.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    let enabled = |s: &Service| {
        s.profiles.is_empty()
            || active.contains("*")
            || s.profiles.iter().any(|p| active.contains(p))
            || opts.services.contains(&s.name)
    };
    let disabled: Vec<String> = project
        .services
        .values()
        .filter(|s| !enabled(s))
        .map(|s| s.name.clone())
        .collect();
    for name in &disabled {
        project.services.remove(name);
    }
    for s in project.services.values_mut() {
        let svc_node = root.get("services").and_then(|n| n.get(&s.name));
        for dep in s.depends_on.keys() {
            if disabled.contains(dep) && s.depends_on[dep].required {
                let pos = svc_node
                    .and_then(|n| n.get("depends_on"))
                    .map(|n| n.pos.clone());
                let message = format!(
                    "service {:?} depends on service {dep:?}, which is disabled by its profiles",
                    s.name
                );
                return Err(match pos {
                    Some(pos) => {
                        LoadError::at(&pos, &format!("services.{}.depends_on", s.name), message)
                    }
                    None => LoadError::project(message),
                });
            }
        }
        s.depends_on.retain(|d, _| !disabled.contains(d));
    }
    project.disabled = disabled;
    Ok(())
}

fn add_default_network(project: &mut Project) {
    let mut needs_default = false;
    for s in project.services.values_mut() {
        if s.network_mode.is_none() && s.networks.is_empty() {
            s.networks.insert("default".into(), None);
        }
        needs_default |= s.networks.contains_key("default");
    }
    if needs_default && !project.networks.contains_key("default") {
        project.networks.insert(
            "default".into(),
            Network {
                name: format!("{}_default", project.name),
                ..Default::default()
            },
        );
    }
}

/// Checks references between services, networks, volumes, secrets and configs, and cycles.
fn validate(project: &Project, root: &Node) -> Result<(), LoadError> {
    let svc_node = |name: &str| root.get("services").and_then(|n| n.get(name));
    let at = |svc: &str, attr: &str, message: String| -> LoadError {
        let field = format!("services.{svc}.{attr}");
        match svc_node(svc).and_then(|n| n.get(attr).or(Some(n))) {
            Some(n) => LoadError::at(&n.pos, &field, message),
            None => LoadError::project(format!("{field}: {message}")),
        }
    };
    for s in project.services.values() {
        for dep in s.volumes_from_services() {
            if !project.services.contains_key(dep) {
                return Err(at(
                    &s.name,
                    "volumes_from",
                    format!(
                        "service {:?} mounts the volumes of undefined service {dep:?} (write container:{dep} for a container)",
                        s.name
                    ),
                ));
            }
        }
        for dep in s.dependencies() {
            if !project.services.contains_key(dep) && !project.disabled.iter().any(|d| d == dep) {
                return Err(at(
                    &s.name,
                    "depends_on",
                    format!("service {:?} depends on undefined service {dep:?}", s.name),
                ));
            }
        }
        for net in s.networks.keys() {
            if !project.networks.contains_key(net) {
                return Err(at(
                    &s.name,
                    "networks",
                    format!("service {:?} refers to undefined network {net:?}", s.name),
                ));
            }
        }
        for m in &s.volumes {
            if m.kind != MountType::Volume {
                continue;
            }
            if let Some(src) = &m.source {
                if !project.volumes.contains_key(src) {
                    return Err(at(
                        &s.name,
                        "volumes",
                        format!("service {:?} refers to undefined volume {src:?}", s.name),
                    ));
                }
            }
        }
        for (kind, refs, defined) in [
            ("secret", &s.secrets, &project.secrets),
            ("config", &s.configs, &project.configs),
        ] {
            for r in refs {
                if !defined.contains_key(&r.source) {
                    return Err(at(
                        &s.name,
                        &format!("{kind}s"),
                        format!(
                            "service {:?} refers to undefined {kind} {:?}",
                            s.name, r.source
                        ),
                    ));
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(project) {
        let first = cycle.first().cloned().unwrap_or_default();
        return Err(at(
            &first,
            "depends_on",
            format!("dependency cycle detected: {}", cycle.join(" -> ")),
        ));
    }
    Ok(())
}

fn find_cycle(project: &Project) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn dfs(
        p: &Project,
        name: &str,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(name).copied().unwrap_or(Mark::New) {
            Mark::Done => return None,
            Mark::Active => {
                let start = stack.iter().position(|s| s == name).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            Mark::New => {}
        }
        marks.insert(name.to_string(), Mark::Active);
        stack.push(name.to_string());
        if let Some(s) = p.services.get(name) {
            for dep in s.dependencies() {
                if let Some(c) = dfs(p, dep, marks, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        marks.insert(name.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for name in project.services.keys() {
        if let Some(c) = dfs(project, name, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

mod include;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
