//! Push with per-layer progress. bollard's `PushImageInfo` has no `id` field, so its typed push
//! stream cannot say which layer a message is about. We send the same request through bollard's
//! transport (no hand-written HTTP) by rewriting a request whose body bollard hands back raw
//! (`export_image`, as `system::disk_usage_raw` does), and read the engine's JSON lines ourselves.

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;

use crate::images::{split_reference, PushProgress, RegistryAuth};
use crate::{Engine, EngineError};

const PUSH_PLACEHOLDER: &str = "berth-placeholder-push";

/// One line of the engine's push stream.
#[derive(Debug, Default, Deserialize)]
struct PushLine {
    id: Option<String>,
    status: Option<String>,
    #[serde(rename = "progressDetail")]
    progress_detail: Option<bollard::models::ProgressDetail>,
    error: Option<String>,
    #[serde(rename = "errorDetail")]
    error_detail: Option<bollard::models::ErrorDetail>,
}

impl PushLine {
    fn into_progress(self) -> Result<PushProgress, EngineError> {
        let error = self
            .error_detail
            .and_then(|d| d.message)
            .or(self.error)
            .filter(|e| !e.is_empty());
        if let Some(message) = error {
            return Err(stream_error(message));
        }
        let detail = self.progress_detail.unwrap_or_default();
        Ok(PushProgress {
            layer_id: self.id.filter(|i| !i.is_empty()),
            status: self.status.unwrap_or_default(),
            current: detail.current,
            total: detail.total,
        })
    }
}

/// A registry's refusal arrives inside the stream as text, its status code lost by then.
fn stream_error(message: String) -> EngineError {
    EngineError::from_stream(message)
}

/// Splits newline-delimited JSON that arrives in arbitrary chunks into whole lines.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(at) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=at).collect();
            if line.iter().any(|b| !b.is_ascii_whitespace()) {
                out.push(line);
            }
        }
        out
    }

    fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.pending);
        rest.iter()
            .any(|b| !b.is_ascii_whitespace())
            .then_some(rest)
    }
}

fn parse(line: &[u8]) -> Result<PushProgress, EngineError> {
    serde_json::from_slice::<PushLine>(line)
        .map_err(|e| EngineError::Engine {
            status: None,
            message: format!("unreadable push progress: {e}"),
        })?
        .into_progress()
}

/// The `X-Registry-Auth` header: base64url of the JSON auth config (all null when anonymous).
fn auth_header(auth: Option<&RegistryAuth>) -> String {
    let creds = auth.map(DockerCredentials::from).unwrap_or_default();
    let json = serde_json::to_string(&creds).unwrap_or_else(|_| "{}".into());
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

impl Engine {
    /// Pushes `reference` (`:latest` when untagged), streaming progress with the layer each
    /// message is about (`Preparing`, `Pushing` with bytes, `Pushed`, `Layer already exists`),
    /// then the tag's `digest: sha256:...` line.
    pub fn push_image_layers(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> impl Stream<Item = Result<PushProgress, EngineError>> + Send + 'static {
        if reference.is_empty() || reference.contains(char::is_whitespace) {
            let e = EngineError::invalid("image", "must be a non-empty reference without spaces");
            return futures_util::stream::once(async move { Err(e) }).boxed();
        }
        let (repo, tag) = split_reference(reference);
        let path = format!("/images/{repo}/push?tag={tag}");
        let header = auth_header(auth);
        let from = format!("/images/{PUSH_PLACEHOLDER}/get");
        let docker = self
            .docker_transfer
            .clone()
            .with_request_modifier(move |mut req| {
                let uri = req.uri().to_string();
                if let Some(at) = uri.find(&from) {
                    if let Ok(new) = format!("{}{path}", &uri[..at]).parse() {
                        *req.uri_mut() = new;
                        if let Ok(post) = "POST".parse() {
                            *req.method_mut() = post;
                        }
                        if let Ok(value) = header.parse() {
                            req.headers_mut().insert("X-Registry-Auth", value);
                        }
                    }
                }
                req
            });
        let err = self.err();
        let mut lines = Lines::default();
        docker
            .export_image(PUSH_PLACEHOLDER)
            .map(Some)
            .chain(futures_util::stream::once(async { None }))
            .flat_map(move |chunk| {
                let items: Vec<_> = match chunk {
                    Some(Ok(bytes)) => lines.push(&bytes).iter().map(|l| parse(l)).collect(),
                    Some(Err(e)) => vec![Err(err(e))],
                    None => lines.finish().map(|l| parse(&l)).into_iter().collect(),
                };
                futures_util::stream::iter(items)
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_across_chunks() {
        let mut l = Lines::default();
        assert!(l.push(b"{\"status\":\"Prep").is_empty());
        let got = l.push(b"aring\",\"id\":\"ab\"}\r\n{\"status\":\"x\"}\r\n\r\n{\"a\"");
        assert_eq!(got.len(), 2);
        assert_eq!(l.finish().as_deref(), Some(&b"{\"a\""[..]));
        let p = parse(&got[0]).unwrap();
        assert_eq!(p.layer_id.as_deref(), Some("ab"));
        assert_eq!(p.status, "Preparing");
    }

    #[test]
    fn byte_progress_keeps_its_layer() {
        let p = parse(
            br#"{"status":"Pushing","progressDetail":{"current":512,"total":1024},"progress":"[==>  ]","id":"5f70bf18a086"}"#,
        )
        .unwrap();
        assert_eq!(p.layer_id.as_deref(), Some("5f70bf18a086"));
        assert_eq!((p.current, p.total), (Some(512), Some(1024)));
    }

    #[test]
    fn errors_in_the_stream_are_errors_with_a_code() {
        let e = parse(br#"{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}"#)
            .unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::Unauthorized);
        assert!(e.to_string().contains("authentication required"));
        let e = parse(br#"{"error":"connection refused"}"#).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::Engine);
        assert!(e.to_string().contains("connection refused"));
    }

    #[test]
    fn auth_header_is_base64url_json() {
        let auth = RegistryAuth {
            username: Some("u".into()),
            password: Some("p".into()),
            identity_token: None,
            server_address: Some("r:5000".into()),
        };
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(auth_header(Some(&auth)))
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(json["username"], "u");
        assert_eq!(json["serveraddress"], "r:5000");
        let anon = base64::engine::general_purpose::URL_SAFE
            .decode(auth_header(None))
            .unwrap();
        let anon: serde_json::Value = serde_json::from_slice(&anon).unwrap();
        assert!(anon["username"].is_null() && anon["password"].is_null());
    }
}
