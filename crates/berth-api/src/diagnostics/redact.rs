//! Removing secrets from text before it leaves the machine in a diagnostics bundle.
//!
//! Berth keeps secrets only in the OS keyring, so none should be in its logs; this is the second
//! line of defence for what other programs (dockerd, the guest, a user's settings) may print.

use std::sync::OnceLock;

use regex::{Captures, Regex};

pub const REDACTED: &str = "<redacted>";

struct Rules {
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
            // `"password": "x"`, `token=x`, `client_secret: x`, `identitytoken`, and headers:
            // `Authorization: Bearer x`, `X-Registry-Auth: x`, `X-Registry-Config: x`.
            key_value: re(
                r#"(?i)("?[a-z0-9_.-]*(?:password|passwd|secret|token|apikey|api_key|credential|auth|registry-config)[a-z0-9_.-]*"?)(\s*[:=]\s*)((?:bearer|basic)\s+)?("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;}&]+)"#,
            ),
            jwt: re(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
            url_password: re(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):[^\s@/]+@"),
            docker_pat: re(r"\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{8,}"),
            private_key: re(
                r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
            ),
        }
    })
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
