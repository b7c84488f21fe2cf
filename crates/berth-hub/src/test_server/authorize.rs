//! The authorization endpoint of the browser flow (authorization code with PKCE S256,
//! RFC 7636): approves or denies at once, by [`ServerOptions::approve_browser`].
//!
//! [`ServerOptions::approve_browser`]: super::ServerOptions::approve_browser

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{CodeGrant, Shared};

pub(super) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (Some(redirect_uri), Some(state_param)) = (query.get("redirect_uri"), query.get("state"))
    else {
        return (StatusCode::BAD_REQUEST, "missing redirect_uri or state").into_response();
    };
    let loopback =
        redirect_uri.starts_with("http://127.0.0.1:") || redirect_uri.starts_with("http://[::1]:");
    if query.get("client_id") != Some(&shared.options.client_id) || !loopback {
        return (StatusCode::BAD_REQUEST, "unknown client or redirect").into_response();
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let state_q = url::form_urlencoded::byte_serialize(state_param.as_bytes()).collect::<String>();
    let pkce_ok = query.get("response_type").map(String::as_str) == Some("code")
        && query.get("code_challenge_method").map(String::as_str) == Some("S256")
        && query.get("code_challenge").is_some_and(|c| c.len() == 43);
    if !pkce_ok {
        return Redirect::to(&format!(
            "{redirect_uri}{separator}error=invalid_request&state={state_q}"
        ))
        .into_response();
    }
    if !shared.options.approve_browser {
        return Redirect::to(&format!(
            "{redirect_uri}{separator}error=access_denied&state={state_q}"
        ))
        .into_response();
    }
    let code = shared.next_id("code");
    shared.state().codes.insert(
        code.clone(),
        CodeGrant {
            client_id: shared.options.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            challenge: query.get("code_challenge").cloned().unwrap_or_default(),
        },
    );
    Redirect::to(&format!(
        "{redirect_uri}{separator}code={code}&state={state_q}"
    ))
    .into_response()
}
