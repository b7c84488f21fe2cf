//! Removing secrets from what goes into a diagnostics bundle.
//!
//! Berth keeps secrets only in the OS keyring, so none should be in its logs; this is the second
//! line of defence for what other programs (dockerd, the guest, a user's containers and
//! settings) may hold. Two rules: by name, any variable, label, header or field whose name
//! contains PASS, SECRET, TOKEN, KEY, CREDENTIAL or AUTH (any case) has its value replaced; by
//! pattern, values that look like a secret wherever they are (JWTs, Docker PATs, a password in
//! a URL, a private key block).

use std::sync::OnceLock;

use regex::{Captures, Regex};
use serde_json::Value;

pub const REDACTED: &str = "<redacted>";

/// The parts of a name that mark its value as secret (matched case-insensitively).
/// `registry-config` is the header that carries registry credentials.
const SENSITIVE: &str = "pass|secret|token|key|credential|auth|registry-config";

struct Rules {
    sensitive_name: Regex,
    key_value: Regex,
    jwt: Regex,
    url_password: Regex,
    docker_pat: Regex,
    private_key: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("redaction patterns are valid");
        Rules {
            sensitive_name: re(&format!("(?i){SENSITIVE}")),
            // `"password": "x"`, `DB_PASS=x`, `client_secret: x`, `identitytoken`, and headers:
            // `Authorization: Bearer x`, `X-Registry-Auth: x`, `X-Registry-Config: x`. An
            // unquoted value ends before a quote, so `"API_KEY=x"` inside JSON stays JSON.
            key_value: re(&format!(
                r#"(?i)("?[a-z0-9_.-]*(?:{SENSITIVE})[a-z0-9_.-]*"?)(\s*[:=]\s*)((?:bearer|basic)\s+)?("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;}}&"]+)"#
            )),
            jwt: re(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
            url_password: re(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):[^\s@/]+@"),
            docker_pat: re(r"\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{8,}"),
            private_key: re(
                r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
            ),
        }
    })
}

/// Whether a variable, label, header or field of this name holds a secret.
pub fn is_sensitive_name(name: &str) -> bool {
    rules().sensitive_name.is_match(name)
}

/// `text` with every secret it recognizably holds replaced by [`REDACTED`].
pub fn redact(text: &str) -> String {
    let r = rules();
    let text = r.private_key.replace_all(text, REDACTED);
    let text = r.key_value.replace_all(&text, |c: &Captures| {
        let scheme = c.get(3).map_or("", |m| m.as_str());
        let value = &c[4];
        // Keep structure readable: booleans, nulls and empty values hide nothing.
        if matches!(value, "true" | "false" | "null" | "\"\"" | "''") || value.is_empty() {
            return c[0].to_owned();
        }
        let quoted = if value.starts_with('"') {
            format!("\"{REDACTED}\"")
        } else {
            REDACTED.to_owned()
        };
        format!("{}{}{scheme}{quoted}", &c[1], &c[2])
    });
    let text = r.jwt.replace_all(&text, REDACTED);
    let text = r.docker_pat.replace_all(&text, REDACTED);
    let text = r
        .url_password
        .replace_all(&text, |c: &Captures| format!("{}:{REDACTED}@", &c[1]));
    text.into_owned()
}

/// A JSON document with its secrets replaced, walked as data: a field whose name is sensitive
/// loses its value (a string, number or whole object alike), a `NAME=value` string (an
/// environment entry) with a sensitive `NAME` loses its value, and every other string goes
/// through [`redact`].
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, v)| {
                    let hidden = is_sensitive_name(name) && !reveals_nothing(v);
                    let v = if hidden {
                        Value::String(REDACTED.into())
                    } else {
                        redact_json(v)
                    };
                    (name.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        Value::String(text) => Value::String(redact_assignment(text)),
        other => other.clone(),
    }
}

/// Booleans, nulls and empty values hide nothing, and keep the document readable.
fn reveals_nothing(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(_) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

fn redact_assignment(text: &str) -> String {
    match text.split_once('=') {
        Some((name, value))
            if !value.is_empty()
                && !name.is_empty()
                && !name.contains(char::is_whitespace)
                && is_sensitive_name(name) =>
        {
            format!("{name}={REDACTED}")
        }
        _ => redact(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_every_kind_of_secret() {
        let cases = [
            (
                "Authorization: Bearer abc.def-123",
                "Authorization: Bearer <redacted>",
            ),
            (
                "authorization=Basic dXNlcjpwYXNz",
                "authorization=Basic <redacted>",
            ),
            (
                "X-Registry-Auth: eyJ1c2VybmFtZSI6ImEifQ==",
                "X-Registry-Auth: <redacted>",
            ),
            (
                r#"{"password":"hunter2","user":"ada"}"#,
                r#"{"password":"<redacted>","user":"ada"}"#,
            ),
            (
                r#""identitytoken": "tok-9f8e""#,
                r#""identitytoken": "<redacted>""#,
            ),
            (
                "refresh_token=r-123&scope=x",
                "refresh_token=<redacted>&scope=x",
            ),
            ("client_secret: s3cr3t", "client_secret: <redacted>"),
            ("DOCKER_PASSWORD='p w'", "DOCKER_PASSWORD=<redacted>"),
            ("DB_PASS=hunter2 next", "DB_PASS=<redacted> next"),
            ("API_KEY=abc", "API_KEY=<redacted>"),
            ("aws_access_key_id: AKIA1", "aws_access_key_id: <redacted>"),
            ("GITHUB_AUTH_HEADER=x1", "GITHUB_AUTH_HEADER=<redacted>"),
            ("my.Credential.file=/x", "my.Credential.file=<redacted>"),
            (
                r#"env ["DB_PASS=hunter2","PATH=/bin"]"#,
                r#"env ["DB_PASS=<redacted>","PATH=/bin"]"#,
            ),
            (
                "login with dckr_pat_AbCdEfGh12345678 ok",
                "login with <redacted> ok",
            ),
            ("tcp://ada:pa55@host:2376", "tcp://ada:<redacted>@host:2376"),
            (
                "id eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl end",
                "id <redacted> end",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
                "<redacted>",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "engine state changed state=running",
            r#"{"tokenExpired": false, "auth": null}"#,
            "GET /v1.41/containers/json HTTP/1.1",
            "pulled layer sha256:abc123 (12 MB)",
            "",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn json_is_redacted_by_field_and_variable_name() {
        let inspect = serde_json::json!({
            "Name": "/db",
            "Config": {
                "Env": ["DB_PASS=hunter2", "API_KEY=abc", "PATH=/bin", "EMPTY_TOKEN="],
                "Labels": {
                    "com.example.secret-ref": "vault:abc",
                    "com.docker.compose.project": "shop",
                    "auth.enabled": "true"
                },
                "Cmd": ["serve", "--url", "https://ada:pa55@db:5432/x"]
            },
            "HostConfig": { "ShmSize": 67108864, "PrivateKeyPem": {"a": 1}, "AuthOff": false },
            "Token": 1234,
            "KeyList": []
        });
        let got = redact_json(&inspect);
        let want = serde_json::json!({
            "Name": "/db",
            "Config": {
                "Env": ["DB_PASS=<redacted>", "API_KEY=<redacted>", "PATH=/bin", "EMPTY_TOKEN="],
                "Labels": {
                    "com.example.secret-ref": "<redacted>",
                    "com.docker.compose.project": "shop",
                    "auth.enabled": "<redacted>"
                },
                "Cmd": ["serve", "--url", "https://ada:<redacted>@db:5432/x"]
            },
            "HostConfig": { "ShmSize": 67108864, "PrivateKeyPem": "<redacted>", "AuthOff": false },
            "Token": "<redacted>",
            "KeyList": []
        });
        assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_text_never_panics() {
        for text in [
            "\u{0}password=",
            "token:",
            "Authorization:",
            "://:@",
            "eyJ.eyJ.",
        ] {
            let _ = redact(text);
        }
    }
}
