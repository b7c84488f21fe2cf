//! Variable interpolation as the Compose Specification defines it:
//! `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+r}`,
//! `${VAR+r}` and `$$` for a literal `$`. Defaults and replacements may nest.

use std::collections::BTreeMap;

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${VAR:?msg}` / `${VAR?msg}` with VAR missing.
    Required { var: String, message: String },
    /// Not a valid `$...` form.
    Syntax { text: String },
}

impl std::fmt::Display for InterpolateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Required { var, message } if message.is_empty() => {
                write!(f, "required variable {var} is missing a value")
            }
            Self::Required { var, message } => {
                write!(f, "required variable {var} is missing a value: {message}")
            }
            Self::Syntax { text } => write!(
                f,
                "invalid interpolation format in {text:?}; you may need to escape any $ with another $"
            ),
        }
    }
}

/// Where variables come from; `unset` collects names used but not set (compose warns about them).
pub struct Vars<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub unset: Vec<String>,
}

impl<'a> Vars<'a> {
    pub fn new(env: &'a BTreeMap<String, String>) -> Self {
        Self {
            env,
            unset: Vec::new(),
        }
    }

    /// Interpolates one string.
    pub fn interpolate(&mut self, text: &str) -> Result<String, InterpolateError> {
        if !text.contains('$') {
            return Ok(text.to_string());
        }
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let syntax = || InterpolateError::Syntax {
            text: text.to_string(),
        };
        while i < chars.len() {
            if chars[i] != '$' {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
                Some('$') => {
                    out.push('$');
                    i += 2;
                }
                Some('{') => {
                    let end = matching_brace(&chars, i + 2).ok_or_else(syntax)?;
                    let inner: String = chars[i + 2..end].iter().collect();
                    out.push_str(&self.braced(&inner).map_err(|e| match e {
                        InterpolateError::Syntax { .. } => syntax(),
                        other => other,
                    })?);
                    i = end + 1;
                }
                Some(c) if is_name_start(*c) => {
                    let mut j = i + 1;
                    while j < chars.len() && is_name_char(chars[j]) {
                        j += 1;
                    }
                    let name: String = chars[i + 1..j].iter().collect();
                    out.push_str(&self.lookup(&name));
                    i = j;
                }
                _ => return Err(syntax()),
            }
        }
        Ok(out)
    }

    fn lookup(&mut self, name: &str) -> String {
        match self.env.get(name) {
            Some(v) => v.clone(),
            None => {
                if !self.unset.iter().any(|u| u == name) {
                    self.unset.push(name.to_string());
                }
                String::new()
            }
        }
    }

    fn braced(&mut self, inner: &str) -> Result<String, InterpolateError> {
        let syntax = || InterpolateError::Syntax {
            text: inner.to_string(),
        };
        let name_len = inner
            .char_indices()
            .find(|(n, c)| !(is_name_char(*c) && (*n > 0 || is_name_start(*c))))
            .map_or(inner.len(), |(n, _)| n);
        let (name, rest) = inner.split_at(name_len);
        if name.is_empty() {
            return Err(syntax());
        }
        let value = self.env.get(name).cloned();
        if rest.is_empty() {
            return Ok(value.unwrap_or_else(|| self.lookup(name)));
        }
        let (colon, rest) = match rest.strip_prefix(':') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let present = if colon {
            value.as_deref().is_some_and(|v| !v.is_empty())
        } else {
            value.is_some()
        };
        let mut chars = rest.chars();
        let op = chars.next();
        let arg = chars.as_str();
        match op {
            Some('-') if present => Ok(value.unwrap_or_default()),
            Some('-') => self.interpolate(arg),
            Some('?') if present => Ok(value.unwrap_or_default()),
            Some('?') => Err(InterpolateError::Required {
                var: name.to_string(),
                message: self.interpolate(arg)?,
            }),
            Some('+') if present => self.interpolate(arg),
            Some('+') => Ok(String::new()),
            _ => Err(syntax()),
        }
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Index of the `}` closing a `${` whose body starts at `from` (nested `${...}` allowed).
fn matching_brace(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'{') => {
                depth += 1;
                i += 1;
            }
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        [("SET", "value"), ("EMPTY", ""), ("PORT", "8080")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(text: &str) -> Result<String, InterpolateError> {
        let env = env();
        Vars::new(&env).interpolate(text)
    }

    #[test]
    fn every_form() {
        let cases = [
            ("$SET", "value"),
            ("${SET}", "value"),
            ("x${SET}y", "xvaluey"),
            ("$SET-x", "value-x"),
            ("${UNSET}", ""),
            ("${UNSET:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("${EMPTY-d}", ""),
            ("${UNSET-d}", "d"),
            ("${SET:-d}", "value"),
            ("${SET:+r}", "r"),
            ("${EMPTY:+r}", ""),
            ("${EMPTY+r}", "r"),
            ("${UNSET+r}", ""),
            ("${SET:?boom}", "value"),
            ("${EMPTY?boom}", ""),
            ("$$SET", "$SET"),
            ("$${SET}", "${SET}"),
            ("${UNSET:-${PORT}}", "8080"),
            ("${UNSET:-a:${UNSET2:-b}}", "a:b"),
            ("${UNSET:-}", ""),
            ("127.0.0.1:${PORT}:80", "127.0.0.1:8080:80"),
            ("no dollars", "no dollars"),
        ];
        for (input, want) in cases {
            assert_eq!(run(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn required_errors_carry_the_message() {
        assert_eq!(
            run("${UNSET:?please set it}").unwrap_err().to_string(),
            "required variable UNSET is missing a value: please set it"
        );
        assert_eq!(
            run("${EMPTY:?}").unwrap_err().to_string(),
            "required variable EMPTY is missing a value"
        );
        assert!(run("${UNSET?x}").is_err());
    }

    #[test]
    fn bad_syntax_is_an_error() {
        for input in ["${", "${}", "$", "a $ b", "${SET", "${1X}", "${SET!x}"] {
            let e = run(input).unwrap_err();
            assert!(
                matches!(e, InterpolateError::Syntax { .. }),
                "{input}: {e:?}"
            );
            assert!(e.to_string().contains("invalid interpolation format"));
        }
    }

    #[test]
    fn unset_names_are_collected_once() {
        let env = env();
        let mut vars = Vars::new(&env);
        vars.interpolate("${A} $A ${B:-x}").unwrap();
        assert_eq!(vars.unset, vec!["A".to_string()]);
    }
}
