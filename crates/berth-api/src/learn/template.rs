//! Placeholders in lesson strings: `{name}` and `{ip:container}`. A `{` after `$` (a shell's
//! `${VAR}`) or around anything else is plain text, so Dockerfiles and shell commands pass.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The placeholders in `s`, in order (`image`, `ip:learn-db`, ...).
pub(crate) fn placeholders(s: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(open) = rest.find('{') {
        let at = offset + open;
        let after = &s[at + 1..];
        if let Some(close) = after.find('}') {
            let inner = &after[..close];
            let after_dollar = at > 0 && s.as_bytes()[at - 1] == b'$';
            if !after_dollar && is_placeholder(inner) {
                found.push(inner);
            }
        }
        offset = at + 1;
        rest = &s[offset..];
    }
    found
}

fn is_placeholder(inner: &str) -> bool {
    let (name, arg) = match inner.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (inner, None),
    };
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let arg_ok = arg.is_none_or(|a| {
        !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    });
    name_ok && arg_ok
}

/// `s` with every placeholder replaced from `values`; the first unknown one is the error.
pub(crate) fn expand(s: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    for name in placeholders(s) {
        let token = format!("{{{name}}}");
        // Placeholders come in order, each after the previous one.
        let Some(at) = find_token(rest, &token) else {
            continue;
        };
        let value = values.get(name).ok_or_else(|| name.to_string())?;
        out.push_str(&rest[..at]);
        out.push_str(value);
        rest = &rest[at + token.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The first `token` in `s` that is not right after a `$`.
fn find_token(s: &str, token: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(token) {
        let at = from + i;
        if at == 0 || s.as_bytes()[at - 1] != b'$' {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Every string inside `value` (an operation or a probe), for checks at load time.
pub(crate) fn strings<T: Serialize>(value: &T) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
                out.push(k.clone());
                walk(v, out);
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(value) {
        walk(&v, &mut out);
    }
    out
}

/// `value` with the placeholders of every string (and map key) filled in.
pub(crate) fn fill<T: Serialize + DeserializeOwned>(
    value: &T,
    values: &BTreeMap<String, String>,
) -> Result<T, String> {
    fn walk(
        v: serde_json::Value,
        values: &BTreeMap<String, String>,
    ) -> Result<serde_json::Value, String> {
        use serde_json::Value;
        Ok(match v {
            Value::String(s) => Value::String(expand(&s, values)?),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|i| walk(i, values))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| Ok((expand(&k, values)?, walk(v, values)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other,
        })
    }
    let json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    serde_json::from_value(walk(json, values)?).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("image".into(), "berth-learn/busybox:latest".into()),
            ("ip:learn-db".into(), "172.17.0.3".into()),
        ])
    }

    #[test]
    fn placeholders_are_found_and_shell_text_is_left_alone() {
        let s = "run {image} then wget http://{ip:learn-db}/ with ${HOME} {not a one} {}";
        assert_eq!(placeholders(s), ["image", "ip:learn-db"]);
        assert_eq!(
            expand(s, &values()).unwrap(),
            "run berth-learn/busybox:latest then wget http://172.17.0.3/ with ${HOME} {not a one} {}"
        );
    }

    #[test]
    fn a_shell_variable_with_a_placeholder_name_stays() {
        let s = "echo ${image} and {image}";
        assert_eq!(placeholders(s), ["image"]);
        assert_eq!(
            expand(s, &values()).unwrap(),
            "echo ${image} and berth-learn/busybox:latest"
        );
    }

    #[test]
    fn an_unknown_placeholder_is_named() {
        assert_eq!(expand("{registry}/x", &values()).unwrap_err(), "registry");
    }

    #[test]
    fn fill_reaches_nested_strings() {
        let v = serde_json::json!({"cmd": ["wget", "http://{ip:learn-db}/"], "n": 3});
        let filled: serde_json::Value = fill(&v, &values()).unwrap();
        assert_eq!(filled["cmd"][1], "http://172.17.0.3/");
        assert_eq!(filled["n"], 3);
        assert!(strings(&v).contains(&"http://{ip:learn-db}/".to_string()));
    }
}
