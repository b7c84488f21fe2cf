//! Merging compose trees (several `-f` files, and `extends`), following the spec's merge rules:
//! mappings merge key by key, sequences append, `command`/`entrypoint`/`healthcheck.test`
//! are replaced, `volumes`/`secrets`/`configs` are unique by target, `ports` are deduplicated,
//! and list-or-map attributes (`environment`, `labels`, `depends_on`, `networks`, ...) merge
//! as mappings.

use crate::yaml::{MergeTag, Node, Value};

/// Attributes whose list form (`KEY=VALUE` or a bare name) is a mapping in disguise.
const MAP_LIKE: &[&str] = &[
    "environment",
    "labels",
    "annotations",
    "sysctls",
    "depends_on",
    "networks",
    "args",
    "driver_opts",
    "options",
];
const REPLACED: &[&str] = &["command", "entrypoint", "test"];
const UNIQUE_BY_TARGET: &[&str] = &["volumes", "secrets", "configs"];

/// Merges an override service definition into a base one.
pub fn merge_service(base: &mut Node, over: Node) {
    merge_node(base, over, "");
}

/// Merges a whole override file into the base file's tree.
pub fn merge_file(base: &mut Node, over: Node) {
    let Value::Map(over_entries) = over.value else {
        if !over.is_null() {
            *base = over;
        }
        return;
    };
    if !matches!(base.value, Value::Map(_)) {
        base.value = Value::Map(Vec::new());
    }
    for (key, value) in over_entries {
        match (key.as_str(), base.get_mut(&key)) {
            ("services", Some(b)) => {
                let Value::Map(services) = value.value else {
                    *b = value;
                    continue;
                };
                if !matches!(b.value, Value::Map(_)) {
                    b.value = Value::Map(Vec::new());
                }
                for (name, svc) in services {
                    match b.get_mut(&name) {
                        Some(existing) => merge_service(existing, svc),
                        None => push(b, name, svc),
                    }
                }
            }
            (_, Some(b)) => merge_node(b, value, ""),
            (_, None) => push(base, key, value),
        }
    }
}

fn push(map: &mut Node, key: String, value: Node) {
    if let Value::Map(entries) = &mut map.value {
        entries.push((key, value));
    }
}

fn merge_node(base: &mut Node, over: Node, key: &str) {
    // `!override` replaces; `!reset` replaces with a marker `strip_merge_tags` removes; a
    // base that an earlier file reset counts as absent.
    if over.merge.is_some() || base.merge == Some(MergeTag::Reset) {
        *base = over;
        return;
    }
    if REPLACED.contains(&key) {
        *base = over;
        return;
    }
    if MAP_LIKE.contains(&key) {
        to_map(base);
        let mut over = over;
        to_map(&mut over);
        if let (Value::Map(_), Value::Map(o)) = (&base.value, over.value.clone()) {
            for (k, v) in o {
                match base.get_mut(&k) {
                    // An override of `depends_on.db` or `networks.front` merges its attributes.
                    Some(b) if matches!(b.value, Value::Map(_)) && !v.is_null() => {
                        merge_node(b, v, &k)
                    }
                    Some(b) => *b = v,
                    None => push(base, k, v),
                }
            }
            return;
        }
        *base = over;
        return;
    }
    match (&mut base.value, over.value) {
        (Value::Map(_), Value::Map(o)) => {
            for (k, v) in o {
                match base.get_mut(&k) {
                    Some(b) => merge_node(b, v, &k),
                    None => push(base, k, v),
                }
            }
        }
        (Value::Seq(items), Value::Seq(o)) => {
            for item in o {
                let existing = if UNIQUE_BY_TARGET.contains(&key) {
                    let t = target_of(&item, key);
                    items
                        .iter()
                        .position(|i| t.is_some() && target_of(i, key) == t)
                } else {
                    items.iter().position(|i| i.value == item.value)
                };
                match existing {
                    Some(i) => items[i] = item,
                    None => items.push(item),
                }
            }
        }
        (_, value) => {
            base.pos = over.pos;
            base.value = value;
        }
    }
}

/// Removes what `!reset` marks (map entries and sequence items) and forgets `!override`, once
/// every file is merged.
pub fn strip_merge_tags(n: &mut Node) {
    n.merge = None;
    match &mut n.value {
        Value::Map(entries) => {
            entries.retain(|(_, v)| v.merge != Some(MergeTag::Reset));
            entries.iter_mut().for_each(|(_, v)| strip_merge_tags(v));
        }
        Value::Seq(items) => {
            items.retain(|v| v.merge != Some(MergeTag::Reset));
            items.iter_mut().for_each(strip_merge_tags);
        }
        _ => {}
    }
}

/// The container-side target of a volume/secret/config entry.
fn target_of(n: &Node, key: &str) -> Option<String> {
    let text = |n: &Node| match &n.value {
        Value::Scalar { text, .. } => Some(text.clone()),
        _ => None,
    };
    match &n.value {
        Value::Scalar { text, .. } if key == "volumes" => {
            let parts: Vec<&str> = text.split(':').collect();
            match parts.as_slice() {
                [t] => Some(t.to_string()),
                [_, t] if t.starts_with('/') => Some(t.to_string()),
                [t, _] => Some(t.to_string()),
                [_, t, _] => Some(t.to_string()),
                _ => None,
            }
        }
        Value::Scalar { text, .. } => Some(text.clone()),
        Value::Map(_) => n
            .get("target")
            .and_then(text)
            .or_else(|| n.get("source").and_then(text)),
        _ => None,
    }
}

/// Rewrites a list form (`- KEY=VALUE`, `- name`) into a mapping, in place.
fn to_map(n: &mut Node) {
    let Value::Seq(items) = &n.value else {
        return;
    };
    let mut entries: Vec<(String, Node)> = Vec::new();
    for item in items {
        let (k, v) = match &item.value {
            Value::Scalar { text, .. } => match text.split_once('=') {
                Some((k, v)) => (k.to_string(), Node::str(item.pos.clone(), v)),
                None => (text.clone(), Node::new(item.pos.clone(), Value::Null)),
            },
            // Not a list of scalars: leave it for the decoder to report.
            _ => return,
        };
        entries.retain(|(e, _)| *e != k);
        entries.push((k, v));
    }
    n.value = Value::Map(entries);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;
    use std::path::Path;

    fn merged(a: &str, b: &str) -> Node {
        let mut base = parse(a, Path::new("a.yaml")).unwrap();
        merge_file(&mut base, parse(b, Path::new("b.yaml")).unwrap());
        base
    }

    fn texts(n: &Node) -> Vec<String> {
        match &n.value {
            Value::Seq(items) => items
                .iter()
                .map(|i| match &i.value {
                    Value::Scalar { text, .. } => text.clone(),
                    _ => "?".into(),
                })
                .collect(),
            _ => vec![],
        }
    }

    #[test]
    fn follows_the_spec_rules() {
        let n = merged(
            "services:\n  web:\n    image: a\n    command: [x, y]\n    dns: [1.1.1.1]\n    environment: [A=1, B=2]\n    volumes: ['./a:/data', 'logs:/logs']\n    ports: ['80:80']\n",
            "services:\n  web:\n    image: b\n    command: [z]\n    dns: [8.8.8.8]\n    environment: {B: 3, C: 4}\n    volumes: ['./b:/data']\n    ports: ['80:80', '443:443']\n  db:\n    image: pg\n",
        );
        let web = n.get("services").unwrap().get("web").unwrap();
        assert_eq!(texts(web.get("command").unwrap()), vec!["z"]);
        assert_eq!(texts(web.get("dns").unwrap()), vec!["1.1.1.1", "8.8.8.8"]);
        assert_eq!(
            texts(web.get("volumes").unwrap()),
            vec!["./b:/data", "logs:/logs"]
        );
        assert_eq!(texts(web.get("ports").unwrap()), vec!["80:80", "443:443"]);
        let env = web.get("environment").unwrap();
        let val = |k: &str| match &env.get(k).unwrap().value {
            Value::Scalar { text, .. } => text.clone(),
            _ => "?".into(),
        };
        assert_eq!(
            (val("A"), val("B"), val("C")),
            ("1".into(), "3".into(), "4".into())
        );
        assert_eq!(
            web.get("image").unwrap().pos.file.as_ref(),
            Path::new("b.yaml")
        );
        assert!(n.get("services").unwrap().get("db").is_some());
    }

    #[test]
    fn reset_and_override_follow_the_spec_examples() {
        // 13-merge.md, "Reset value" (with the base file's indentation fixed).
        let mut n = merged(
            "services:\n  app:\n    image: myapp\n    ports:\n      - \"8080:80\"\n    environment:\n      FOO: BAR\n",
            "services:\n  app:\n    image: myapp\n    ports: !reset []\n    environment:\n      FOO: !reset null\n",
        );
        strip_merge_tags(&mut n);
        let app = n.get("services").unwrap().get("app").unwrap();
        assert!(app.get("ports").is_none(), "{app:?}");
        assert!(app.get("environment").unwrap().get("FOO").is_none());
        // "Replace value".
        let mut n = merged(
            "services:\n  app:\n    image: myapp\n    ports:\n      - \"8080:80\"\n",
            "services:\n  app:\n    ports: !override\n      - \"8443:443\"\n",
        );
        strip_merge_tags(&mut n);
        let app = n.get("services").unwrap().get("app").unwrap();
        assert_eq!(texts(app.get("ports").unwrap()), vec!["8443:443"]);
        // A later file sets again what an earlier one reset.
        let mut base = parse("services:\n  a:\n    dns: [1.1.1.1]\n", Path::new("1.yaml")).unwrap();
        merge_file(
            &mut base,
            parse("services:\n  a:\n    dns: !reset []\n", Path::new("2.yaml")).unwrap(),
        );
        merge_file(
            &mut base,
            parse("services:\n  a:\n    dns: [9.9.9.9]\n", Path::new("3.yaml")).unwrap(),
        );
        strip_merge_tags(&mut base);
        let a = base.get("services").unwrap().get("a").unwrap();
        assert_eq!(texts(a.get("dns").unwrap()), vec!["9.9.9.9"]);
    }
}
