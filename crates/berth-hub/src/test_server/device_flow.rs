//! The device authorization grant (RFC 8628): device codes, the user's decision (by a test
//! or over HTTP), and the token endpoint's answer to a device code.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::token_endpoint::issue_tokens;
use super::{bad_request, check_client, Decision, Shared};

pub(super) struct DeviceGrant {
    pub(super) user_code: String,
    pub(super) issued: Instant,
    pub(super) decision: Decision,
    pub(super) polls: Vec<Instant>,
    pub(super) interval: Duration,
}

pub(super) fn decide(shared: &Shared, user_code: &str, decision: Decision) -> bool {
    let mut state = shared.state();
    match state
        .devices
        .values_mut()
        .find(|grant| grant.user_code == user_code && grant.decision == Decision::Pending)
    {
        Some(grant) => {
            grant.decision = decision;
            true
        }
        None => false,
    }
}

pub(super) async fn device_code(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(response) = check_client(&shared, &form) {
        return response;
    }
    let device_code = shared.next_id("device");
    let user_code = {
        let n = shared.state().counter;
        format!("BRTH-{:04}", n % 10_000)
    };
    let interval = Duration::from_secs(shared.options.interval_secs);
    shared.state().devices.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            issued: Instant::now(),
            decision: Decision::Pending,
            polls: Vec::new(),
            interval,
        },
    );
    let verification_uri = format!("{}/activate", shared.base_url);
    Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
        "expires_in": shared.options.device_code_ttl.as_secs(),
        "interval": shared.options.interval_secs,
    }))
    .into_response()
}

pub(super) fn device_token(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let now = Instant::now();
    let ttl = shared.options.device_code_ttl;
    let mut state = shared.state();
    let force_slow_down = state.slow_down_next > 0;
    if force_slow_down {
        state.slow_down_next -= 1;
    }
    let Some(grant) = form
        .get("device_code")
        .and_then(|code| state.devices.get_mut(code))
    else {
        return bad_request("invalid_grant");
    };
    let too_fast = grant
        .polls
        .last()
        .is_some_and(|last| now.duration_since(*last) < grant.interval);
    grant.polls.push(now);
    if now.duration_since(grant.issued) > ttl {
        return bad_request("expired_token");
    }
    if force_slow_down || too_fast {
        // RFC 8628 3.5: the client must add 5 seconds to its interval from now on.
        grant.interval += Duration::from_secs(5);
        return bad_request("slow_down");
    }
    match grant.decision {
        Decision::Pending => bad_request("authorization_pending"),
        Decision::Denied => bad_request("access_denied"),
        Decision::Used => bad_request("invalid_grant"),
        Decision::Approved => {
            grant.decision = Decision::Used;
            drop(state);
            issue_tokens(shared)
        }
    }
}

pub(super) async fn activate(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    user_decision(&shared, &query, Decision::Approved)
}

pub(super) async fn deny(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    user_decision(&shared, &query, Decision::Denied)
}

fn user_decision(shared: &Shared, query: &HashMap<String, String>, decision: Decision) -> Response {
    match query.get("user_code") {
        Some(code) if decide(shared, code, decision) => {
            (StatusCode::OK, "Done. Return to Berth.").into_response()
        }
        _ => (StatusCode::NOT_FOUND, "unknown or used code").into_response(),
    }
}
