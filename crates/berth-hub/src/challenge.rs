//! The `WWW-Authenticate` challenge a registry answers `/v2/` with (RFC 7235 syntax; the
//! Docker registry token-auth spec for `Bearer`).

use std::collections::BTreeMap;

/// How a registry wants to be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP Basic on every request.
    Basic { realm: Option<String> },
    /// Fetch a token from `realm` (with Basic credentials), then send it as a Bearer token.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    #[error("the challenge is empty")]
    Empty,
    #[error("unsupported authentication scheme {scheme:?}")]
    UnsupportedScheme { scheme: String },
    #[error("malformed challenge parameter near {near:?}")]
    Malformed { near: String },
    #[error("the Bearer challenge has no realm")]
    MissingRealm,
}

impl Challenge {
    /// Parses one `WWW-Authenticate` header value holding one challenge.
    pub fn parse(header: &str) -> Result<Challenge, ChallengeError> {
        let header = header.trim();
        if header.is_empty() {
            return Err(ChallengeError::Empty);
        }
        let (scheme, rest) = match header.split_once(char::is_whitespace) {
            Some((scheme, rest)) => (scheme, rest),
            None => (header, ""),
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "basic" && scheme != "bearer" {
            return Err(ChallengeError::UnsupportedScheme { scheme });
        }
        let params = parse_params(rest)?;
        match scheme.as_str() {
            "basic" => Ok(Challenge::Basic {
                realm: params.get("realm").cloned(),
            }),
            "bearer" => Ok(Challenge::Bearer {
                realm: params
                    .get("realm")
                    .filter(|realm| !realm.is_empty())
                    .cloned()
                    .ok_or(ChallengeError::MissingRealm)?,
                service: params.get("service").cloned(),
                scope: params.get("scope").cloned(),
            }),
            _ => Err(ChallengeError::UnsupportedScheme { scheme }),
        }
    }
}

/// `name=value` or `name="quoted, value"` pairs separated by commas; names are case-insensitive.
fn parse_params(input: &str) -> Result<BTreeMap<String, String>, ChallengeError> {
    let mut params = BTreeMap::new();
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        let malformed = || ChallengeError::Malformed {
            near: rest.chars().take(24).collect(),
        };
        let eq = rest.find('=').ok_or_else(malformed)?;
        let name = rest[..eq].trim();
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err(malformed());
        }
        let after = rest[eq + 1..].trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            parse_quoted(quoted).ok_or_else(malformed)?
        } else {
            let end = after.find(',').unwrap_or(after.len());
            let value = after[..end].trim();
            if value.is_empty() || !value.chars().all(is_token_char) {
                return Err(malformed());
            }
            (value.to_string(), &after[end..])
        };
        params.insert(name.to_ascii_lowercase(), value);
        let tail = tail.trim_start();
        rest = match tail.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if tail.is_empty() => tail,
            None => return Err(malformed()),
        };
    }
    Ok(params)
}

/// Reads a quoted-string body (after the opening quote); returns the unescaped value and what
/// follows the closing quote.
fn parse_quoted(input: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &input[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/:".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_docker_hub_bearer_challenge() {
        let challenge = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        )
        .unwrap();
        assert_eq!(
            challenge,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:samalba/my-app:pull,push".into()),
            }
        );
    }

    #[test]
    fn parses_basic_with_and_without_realm() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic {
                realm: Some("Registry Realm".into())
            }
        );
        assert_eq!(
            Challenge::parse("basic").unwrap(),
            Challenge::Basic { realm: None }
        );
    }

    #[test]
    fn scheme_and_names_are_case_insensitive_and_spacing_is_tolerated() {
        let challenge =
            Challenge::parse(r#"BEARER  Realm = "https://r/t" ,  SERVICE=reg.local"#).unwrap();
        assert_eq!(
            challenge,
            Challenge::Bearer {
                realm: "https://r/t".into(),
                service: Some("reg.local".into()),
                scope: None,
            }
        );
    }

    #[test]
    fn quoted_values_unescape_backslashes() {
        let challenge = Challenge::parse(r#"Basic realm="say \"hi\", ok""#).unwrap();
        assert_eq!(
            challenge,
            Challenge::Basic {
                realm: Some(r#"say "hi", ok"#.into())
            }
        );
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(Challenge::parse("  "), Err(ChallengeError::Empty));
        assert_eq!(
            Challenge::parse("Bearer service=x"),
            Err(ChallengeError::MissingRealm)
        );
        assert_eq!(
            Challenge::parse(r#"Bearer realm="""#),
            Err(ChallengeError::MissingRealm)
        );
        assert!(matches!(
            Challenge::parse("Negotiate abc"),
            Err(ChallengeError::UnsupportedScheme { .. })
        ));
        for bad in [
            r#"Bearer realm="https://unterminated"#,
            "Bearer realm",
            "Bearer =x",
            r#"Bearer realm="a" service="b""#,
            "Bearer realm=a b",
            "Bearer realm=,",
            r#"Basic realm="x\"#,
        ] {
            assert!(
                matches!(Challenge::parse(bad), Err(ChallengeError::Malformed { .. })),
                "{bad:?} parsed as {:?}",
                Challenge::parse(bad)
            );
        }
    }
}
