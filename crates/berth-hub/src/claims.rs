//! Who signed in: the user name inside an OAuth access token or ID token (a JWT).
//!
//! The token came over TLS from the issuer we chose, and we only read a display name from it,
//! so the signature is not checked here; the registry and Hub check it on every use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

/// The private claim Docker's identity provider puts the Hub account in.
pub const DOCKER_HUB_CLAIM: &str = "https://hub.docker.com";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    #[error("the token is not a JWT (expected three dot-separated parts)")]
    NotAJwt,
    #[error("the token's payload is not base64url JSON")]
    BadPayload,
    #[error("the token carries no user name claim")]
    NoUserName,
}

/// The JSON payload of a JWT, unverified.
pub fn payload(token: &str) -> Result<Value, ClaimsError> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClaimsError::NotAJwt);
    };
    // Some issuers pad; base64url without padding is the JWS rule.
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ClaimsError::BadPayload)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(ClaimsError::BadPayload),
    }
}

/// The account name: Docker's `https://hub.docker.com` `username` claim, else the OpenID
/// Connect `preferred_username`, `nickname`, `name`, `email`, in that order.
pub fn user_name(token: &str) -> Result<String, ClaimsError> {
    let claims = payload(token)?;
    let docker = claims
        .get(DOCKER_HUB_CLAIM)
        .and_then(|domain| domain.get("username"));
    std::iter::once(docker)
        .chain(
            ["preferred_username", "nickname", "name", "email"]
                .iter()
                .map(|key| claims.get(*key)),
        )
        .flatten()
        .filter_map(Value::as_str)
        .find(|name| !name.is_empty())
        .map(str::to_string)
        .ok_or(ClaimsError::NoUserName)
}

/// Builds an unsigned JWT (`alg: none`) with these claims, for test servers.
pub fn unsigned_jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_docker_hub_claim_first() {
        let token = unsigned_jwt(&json!({
            "sub": "auth0|123",
            "name": "Alice A.",
            DOCKER_HUB_CLAIM: {"username": "alice", "uuid": "u-1"},
        }));
        assert_eq!(user_name(&token).unwrap(), "alice");
    }

    #[test]
    fn falls_back_to_openid_claims() {
        let token = unsigned_jwt(&json!({"preferred_username": "bob", "email": "b@x"}));
        assert_eq!(user_name(&token).unwrap(), "bob");
        let token = unsigned_jwt(&json!({DOCKER_HUB_CLAIM: {"username": ""}, "email": "c@x"}));
        assert_eq!(user_name(&token).unwrap(), "c@x");
    }

    #[test]
    fn tolerates_padding_in_the_payload() {
        let body = base64::engine::general_purpose::URL_SAFE.encode(br#"{"name":"padded"}"#);
        assert_eq!(user_name(&format!("e30.{body}.sig")).unwrap(), "padded");
    }

    #[test]
    fn rejects_malformed_tokens() {
        assert_eq!(user_name("opaque-token"), Err(ClaimsError::NotAJwt));
        assert_eq!(user_name("a.b"), Err(ClaimsError::NotAJwt));
        assert_eq!(user_name("a.b.c.d"), Err(ClaimsError::NotAJwt));
        assert_eq!(user_name("e30.!!!.sig"), Err(ClaimsError::BadPayload));
        let not_json = URL_SAFE_NO_PAD.encode("not json");
        assert_eq!(
            user_name(&format!("e30.{not_json}.")),
            Err(ClaimsError::BadPayload)
        );
        let array = URL_SAFE_NO_PAD.encode("[1,2]");
        assert_eq!(
            user_name(&format!("e30.{array}.")),
            Err(ClaimsError::BadPayload)
        );
        let no_name = unsigned_jwt(&json!({"sub": "x", "name": 5}));
        assert_eq!(user_name(&no_name), Err(ClaimsError::NoUserName));
    }
}
