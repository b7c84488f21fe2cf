//! The top-level `include`: other compose applications loaded each with its own project
//! directory and `.env`, their relative paths made absolute against that directory, and their
//! resources copied into the including project. A resource defined on both sides is an error
//! naming both places; an include that leads back to itself is an error naming the chain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{interpolate, read, resolve_extends};
use crate::decode::{self, refused};
use crate::error::LoadError;
use crate::interpolate::Vars;
use crate::merge;
use crate::yaml::{self, Node, Value};

type R<T> = Result<T, LoadError>;

/// The top-level sections an included application contributes.
const SECTIONS: &[&str] = &["services", "networks", "volumes", "secrets", "configs"];

/// How deep includes may nest (a guard; cycles are found by the chain).
const MAX_DEPTH: usize = 32;

/// One entry of an `include` list.
struct Entry {
    paths: Vec<PathBuf>,
    project_dir: PathBuf,
    env_files: Vec<PathBuf>,
    node: Node,
    field: String,
}

/// Replaces `tree`'s `include` with the resources of the files it names. `base_dir` is where
/// relative include paths start; `env` is the including project's variables; `chain` the
/// files being included, outermost first.
pub(super) fn resolve_includes(
    tree: &mut Node,
    base_dir: &Path,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
    chain: &mut Vec<PathBuf>,
) -> R<()> {
    let Some(list) = tree.remove("include") else {
        return Ok(());
    };
    let items = match &list.value {
        Value::Seq(items) => items.clone(),
        Value::Null => Vec::new(),
        _ => {
            return Err(LoadError::at(
                &list.pos,
                "include",
                format!("must be a sequence, found {}", list.kind()),
            ))
        }
    };
    for (i, item) in items.iter().enumerate() {
        let entry = entry(item, &format!("include[{i}]"), base_dir)?;
        let included = load_included(&entry, env, warnings, chain)?;
        copy_resources(tree, included, &entry)?;
    }
    Ok(())
}

fn entry(n: &Node, field: &str, base_dir: &Path) -> R<Entry> {
    let abs = |p: &str| decode::clean(&base_dir.join(p));
    let (paths, project_dir, env_files) = match &n.value {
        Value::Scalar { text, .. } => (vec![abs(text)], None, Vec::new()),
        Value::Map(entries) => {
            let mut paths = Vec::new();
            let mut project_dir = None;
            let mut env_files = Vec::new();
            for (k, v) in entries {
                let f = format!("{field}.{k}");
                match k.as_str() {
                    "path" => paths = str_or_list(v, &f)?.iter().map(|p| abs(p)).collect(),
                    "project_directory" => project_dir = Some(abs(&decode::scalar(v, &f)?)),
                    "env_file" => env_files = str_or_list(v, &f)?.iter().map(|p| abs(p)).collect(),
                    x if x.starts_with("x-") => {}
                    _ => return Err(LoadError::at(&v.pos, &f, "unknown attribute")),
                }
            }
            (paths, project_dir, env_files)
        }
        _ => {
            return Err(LoadError::at(
                &n.pos,
                field,
                "must be a path or a mapping with `path`",
            ))
        }
    };
    let Some(first) = paths.first() else {
        return Err(LoadError::at(&n.pos, field, "missing `path`"));
    };
    let project_dir = project_dir.unwrap_or_else(|| {
        first
            .parent()
            .map_or_else(|| base_dir.into(), Path::to_path_buf)
    });
    Ok(Entry {
        paths,
        project_dir,
        env_files,
        node: n.clone(),
        field: field.to_string(),
    })
}

fn str_or_list(n: &Node, field: &str) -> R<Vec<String>> {
    match &n.value {
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| decode::scalar(x, &format!("{field}[{i}]")))
            .collect(),
        _ => Ok(vec![decode::scalar(n, field)?]),
    }
}

/// The included application's variables: its `env_file`s (default `<its dir>/.env`),
/// overridden by the including project's.
fn included_env(e: &Entry, outer: &BTreeMap<String, String>) -> R<BTreeMap<String, String>> {
    let files: Vec<(PathBuf, bool)> = if e.env_files.is_empty() {
        vec![(e.project_dir.join(".env"), false)]
    } else {
        e.env_files.iter().map(|f| (f.clone(), true)).collect()
    };
    let mut env = BTreeMap::new();
    for (file, required) in files {
        if !required && !file.is_file() {
            continue;
        }
        let text = read(&file).map_err(|_| {
            LoadError::at(
                &e.node.pos,
                &format!("{}.env_file", e.field),
                format!("cannot read {}", file.display()),
            )
        })?;
        let pairs =
            crate::dotenv::parse(&text, outer).map_err(|(line, message)| LoadError::Syntax {
                file: file.clone(),
                line,
                message,
            })?;
        env.extend(pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    }
    env.extend(outer.clone());
    Ok(env)
}

/// Loads one include entry's files as an application of its own: interpolated with its own
/// variables, `extends` resolved, merged, its own includes resolved, and its paths absolute.
fn load_included(
    e: &Entry,
    outer_env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
    chain: &mut Vec<PathBuf>,
) -> R<Node> {
    for path in &e.paths {
        if chain.contains(path) || chain.len() > MAX_DEPTH {
            let mut names: Vec<String> = chain.iter().map(|p| p.display().to_string()).collect();
            names.push(path.display().to_string());
            return Err(LoadError::at(
                &e.node.pos,
                &e.field,
                format!("include cycle: {}", names.join(" -> ")),
            ));
        }
    }
    let env = included_env(e, outer_env)?;
    let mut root: Option<Node> = None;
    for path in &e.paths {
        let text = read(path).map_err(|err| match err {
            LoadError::File { message, .. } => LoadError::at(
                &e.node.pos,
                &e.field,
                format!("cannot include {}: {message}", path.display()),
            ),
            other => other,
        })?;
        let mut tree = yaml::parse(&text, path)?;
        let mut vars = Vars::new(&env);
        interpolate(&mut tree, &mut vars, "")?;
        for name in vars.unset {
            warnings.push(format!(
                "{}: the {name} variable is not set; defaulting to a blank string",
                path.display()
            ));
        }
        tree.remove("version");
        if let Some(n) = tree.remove("name") {
            let _ = n; // an included application's name does not rename the project
        }
        resolve_extends(&mut tree, path, &env, 0)?;
        match &mut root {
            None => root = Some(tree),
            Some(r) => merge::merge_file(r, tree),
        }
    }
    let mut root = root.unwrap_or_else(|| Node::new(e.node.pos.clone(), Value::Map(Vec::new())));
    merge::strip_merge_tags(&mut root);
    chain.extend(e.paths.iter().cloned());
    let nested = resolve_includes(&mut root, &e.project_dir, &env, warnings, chain);
    chain.truncate(chain.len() - e.paths.len());
    nested?;
    make_paths_absolute(&mut root, &e.project_dir);
    if let Value::Map(entries) = &root.value {
        if let Some((k, v)) = entries
            .iter()
            .find(|(k, _)| !SECTIONS.contains(&k.as_str()) && !k.starts_with("x-"))
        {
            return Err(refused(
                v,
                k,
                "an included file contributes services, networks, volumes, secrets and configs only",
            ));
        }
    }
    Ok(root)
}

/// Copies the included sections into `tree`; a name defined on both sides is an error.
fn copy_resources(tree: &mut Node, included: Node, e: &Entry) -> R<()> {
    let Value::Map(sections) = included.value else {
        return Ok(());
    };
    for (section, value) in sections {
        let Value::Map(resources) = value.value else {
            continue;
        };
        if tree.get(&section).is_none() {
            if let Value::Map(entries) = &mut tree.value {
                entries.push((
                    section.clone(),
                    Node::new(value.pos.clone(), Value::Map(Vec::new())),
                ));
            }
        }
        let Some(target) = tree.get_mut(&section) else {
            continue;
        };
        if target.is_null() {
            target.value = Value::Map(Vec::new());
        }
        let Value::Map(existing) = &mut target.value else {
            return Err(LoadError::at(&target.pos, &section, "must be a mapping"));
        };
        for (name, def) in resources {
            if let Some((_, mine)) = existing.iter().find(|(k, _)| *k == name) {
                return Err(LoadError::at(
                    &e.node.pos,
                    &e.field,
                    format!(
                        "{section}.{name} from {}:{} conflicts with {section}.{name} defined at {}:{}",
                        def.pos.file.display(),
                        def.pos.line,
                        mine.pos.file.display(),
                        mine.pos.line
                    ),
                ));
            }
            existing.push((name, def));
        }
    }
    Ok(())
}

/// Makes every relative host path of an included application absolute against its project
/// directory: build contexts, bind sources, `env_file`, `label_file`, secret and config files.
fn make_paths_absolute(root: &mut Node, dir: &Path) {
    if let Some(Node {
        value: Value::Map(services),
        ..
    }) = root.get_mut("services")
    {
        for (_, svc) in services.iter_mut() {
            super::rebase_paths(svc, dir);
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(Node {
            value: Value::Map(objects),
            ..
        }) = root.get_mut(section)
        {
            for (_, o) in objects.iter_mut() {
                if let Some(f) = o.get_mut("file") {
                    absolute(f, dir);
                }
            }
        }
    }
}

/// A relative path scalar made absolute against `dir` (`~` and absolute paths are kept).
pub(super) fn absolute(n: &mut Node, dir: &Path) {
    if let Value::Scalar { text, .. } = &mut n.value {
        if !text.starts_with('/') && !text.starts_with('~') && !text.contains("://") {
            *text = decode::clean(&dir.join(&*text)).display().to_string();
        }
    }
}
