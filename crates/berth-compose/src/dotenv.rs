//! `.env` and `env_file` parsing: `KEY=VALUE` lines, `export ` prefixes, `#` comments,
//! single quotes (literal), double quotes (escapes and interpolation), unquoted values
//! (interpolated, trailing ` #comment` dropped).

use std::collections::BTreeMap;

use crate::interpolate::Vars;

/// Variables in file order; a bare `KEY` line has no value.
pub type Pairs = Vec<(String, Option<String>)>;

/// Parses `text`; `lookup` provides variables for interpolation (earlier lines of the same
/// file are visible too). Errors are `(line, message)`.
pub fn parse(text: &str, lookup: &BTreeMap<String, String>) -> Result<Pairs, (usize, String)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut seen = lookup.clone();
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim_end(), Some(v.trim_start())),
            None => (line.trim_end(), None),
        };
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err((n + 1, format!("invalid variable name {key:?}")));
        }
        let Some(value) = value else {
            out.push((key.to_string(), None));
            continue;
        };
        let value = if let Some(body) = value.strip_prefix('\'') {
            let mut body = body.to_string();
            while !body.contains('\'') {
                let Some((_, next)) = lines.next() else {
                    return Err((n + 1, "unterminated single-quoted value".into()));
                };
                body.push('\n');
                body.push_str(next);
            }
            let end = body.find('\'').unwrap_or(body.len());
            body[..end].to_string()
        } else if let Some(body) = value.strip_prefix('"') {
            let mut body = body.to_string();
            while closing_quote(&body).is_none() {
                let Some((_, next)) = lines.next() else {
                    return Err((n + 1, "unterminated double-quoted value".into()));
                };
                body.push('\n');
                body.push_str(next);
            }
            let end = closing_quote(&body).unwrap_or(body.len());
            let unescaped = unescape(&body[..end]);
            Vars::new(&seen)
                .interpolate(&unescaped)
                .map_err(|e| (n + 1, e.to_string()))?
        } else {
            let bare = match value.find(" #") {
                Some(i) => &value[..i],
                None => value,
            };
            Vars::new(&seen)
                .interpolate(bare.trim_end())
                .map_err(|e| (n + 1, e.to_string()))?
        };
        seen.insert(key.to_string(), value.clone());
        out.retain(|(k, _)| k != key);
        out.push((key.to_string(), Some(value)));
    }
    Ok(out)
}

fn closing_quote(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_forms() {
        let env: BTreeMap<String, String> = [("HOME".to_string(), "/home/u".to_string())].into();
        let text = "# comment\n\nA=1\nexport B = two words \nC='lit $HOME'\nD=\"q\\n$HOME\"\nE=$A-x # note\nF\nG=\nH=\"multi\nline\"\n";
        let got = parse(text, &env).unwrap();
        let want: Vec<(String, Option<String>)> = vec![
            ("A", Some("1")),
            ("B", Some("two words")),
            ("C", Some("lit $HOME")),
            ("D", Some("q\n/home/u")),
            ("E", Some("1-x")),
            ("F", None),
            ("G", Some("")),
            ("H", Some("multi\nline")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn errors_name_the_line() {
        let env = BTreeMap::new();
        assert_eq!(parse("A=1\nB C=2\n", &env).unwrap_err().0, 2);
        assert_eq!(parse("A='open\n", &env).unwrap_err().0, 1);
    }
}
