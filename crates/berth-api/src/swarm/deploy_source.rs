//! The services' `deploy` sections as the stack files write them, interpolated and merged
//! across `-c` files in order, with their positions: berth-compose's model keeps only what
//! containers apply of `deploy`, a stack applies all of it ([`super::deploy_section`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_compose::interpolate::Vars;
use berth_compose::yaml::{self, Node, Value};
use berth_compose::{merge, LoadError};

/// The variables a stack file is interpolated with: the process environment over the
/// project directory's `.env`, as the loader has it.
pub fn environment(
    project_dir: &Path,
    process: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, LoadError> {
    let mut env = BTreeMap::new();
    let file = project_dir.join(".env");
    if file.is_file() {
        let text = std::fs::read_to_string(&file).map_err(|e| LoadError::File {
            file: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        let pairs = berth_compose::dotenv::parse(&text, process).map_err(|(line, message)| {
            LoadError::Syntax {
                file: file.clone(),
                line,
                message,
            }
        })?;
        env.extend(pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    }
    env.extend(process.clone());
    Ok(env)
}

fn interpolate(n: &mut Node, vars: &mut Vars, field: &str) -> Result<(), LoadError> {
    match &mut n.value {
        Value::Scalar { text, .. } => {
            *text = vars.interpolate(text).map_err(|e| LoadError::Invalid {
                file: n.pos.file.to_path_buf(),
                line: n.pos.line,
                field: field.to_string(),
                message: e.to_string(),
            })?;
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, vars, &format!("{field}[{i}]"))?;
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                if !k.starts_with("x-") {
                    interpolate(v, vars, &format!("{field}.{k}"))?;
                }
            }
        }
        Value::Null => {}
    }
    Ok(())
}

/// Each service's `deploy` section from `sources` (path, text), later files merged over
/// earlier ones as compose merges them.
pub fn deploy_sections(
    sources: &[(PathBuf, String)],
    env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Node>, LoadError> {
    let mut merged: BTreeMap<String, Node> = BTreeMap::new();
    for (file, text) in sources {
        let tree = yaml::parse(text, file)?;
        let Some(Node {
            value: Value::Map(services),
            ..
        }) = tree.get("services")
        else {
            continue;
        };
        for (name, service) in services {
            let Some(deploy) = service.get("deploy") else {
                continue;
            };
            let mut deploy = deploy.clone();
            let mut vars = Vars::new(env);
            interpolate(&mut deploy, &mut vars, &format!("services.{name}.deploy"))?;
            let wrap = |d: Node| Node::new(d.pos.clone(), Value::Map(vec![("deploy".into(), d)]));
            match merged.get_mut(name) {
                Some(base) => {
                    let mut whole = wrap(base.clone());
                    merge::merge_service(&mut whole, wrap(deploy));
                    if let Some(d) = whole.get("deploy") {
                        *base = d.clone();
                    }
                }
                None => {
                    merged.insert(name.clone(), deploy);
                }
            }
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_files_merge_over_earlier_ones_and_variables_are_filled() {
        let sources = vec![
            (
                PathBuf::from("/p/a.yml"),
                "services:\n  web:\n    image: x\n    deploy:\n      replicas: 2\n      update_config: {parallelism: 1}\n".to_string(),
            ),
            (
                PathBuf::from("/p/b.yml"),
                "services:\n  web:\n    deploy:\n      update_config:\n        delay: ${DELAY}\n".to_string(),
            ),
        ];
        let env = BTreeMap::from([("DELAY".to_string(), "5s".to_string())]);
        let sections = deploy_sections(&sources, &env).unwrap();
        let web = &sections["web"];
        let update = web.get("update_config").unwrap();
        assert!(web.get("replicas").is_some());
        assert!(update.get("parallelism").is_some());
        let delay = update.get("delay").unwrap();
        assert_eq!(
            delay.value,
            Value::Scalar {
                text: "5s".into(),
                plain: true
            }
        );
        assert_eq!(
            (delay.pos.file.as_ref(), delay.pos.line),
            (Path::new("/p/b.yml"), 5)
        );
    }
}
