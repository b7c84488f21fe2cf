//! The token endpoint (every grant and refresh) and revocation (RFC 7009).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::device_flow::device_token;
use super::{bad_request, check_client, Shared};
use crate::claims::{unsigned_jwt, DOCKER_HUB_CLAIM};
use crate::pkce;

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(response) = check_client(&shared, &form) {
        return response;
    }
    match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => device_token(&shared, &form),
        Some("authorization_code") => code_token(&shared, &form),
        Some("refresh_token") => refresh_token(&shared, &form),
        Some(_) => bad_request("unsupported_grant_type"),
        None => bad_request("invalid_request"),
    }
}

fn code_token(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let Some(grant) = form
        .get("code")
        .and_then(|code| shared.state().codes.remove(code))
    else {
        return bad_request("invalid_grant");
    };
    let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
    if form.get("redirect_uri") != Some(&grant.redirect_uri)
        || form.get("client_id") != Some(&grant.client_id)
        || !pkce::verify_s256(verifier, &grant.challenge)
    {
        return bad_request("invalid_grant");
    }
    issue_tokens(shared)
}

fn refresh_token(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let live = form
        .get("refresh_token")
        .and_then(|token| shared.state().refresh_tokens.get(token).copied())
        .unwrap_or(false);
    if !live {
        return bad_request("invalid_grant");
    }
    issue_tokens(shared)
}

pub(super) fn issue_tokens(shared: &Shared) -> Response {
    let refresh = shared.next_id("refresh");
    shared.state().refresh_tokens.insert(refresh.clone(), true);
    let access = unsigned_jwt(&json!({
        "iss": shared.base_url,
        "sub": format!("test|{}", shared.options.username),
        "aud": "https://hub.docker.com",
        "jti": shared.next_id("access"),
        DOCKER_HUB_CLAIM: {"username": shared.options.username},
    }));
    Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": shared.options.token_ttl.as_secs(),
        "scope": "openid offline_access",
    }))
    .into_response()
}

pub(super) async fn revoke(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(response) = check_client(&shared, &form) {
        return response;
    }
    let Some(token) = form.get("token") else {
        return bad_request("invalid_request");
    };
    let mut state = shared.state();
    // RFC 7009 2.2: an unknown token is still a 200.
    if let Some(live) = state.refresh_tokens.get_mut(token) {
        *live = false;
    }
    state.revoked.push(token.clone());
    StatusCode::OK.into_response()
}
