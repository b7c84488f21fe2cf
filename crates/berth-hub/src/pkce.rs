//! Proof Key for Code Exchange (RFC 7636), the `S256` method.
//!
//! The client side uses `oauth2`'s generator; these functions are what a server checks, and what
//! the tests hold both sides to.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// `BASE64URL(SHA256(ASCII(code_verifier)))`, no padding (RFC 7636 section 4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A verifier is 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

/// What the authorization server does at the token endpoint: the verifier must be well formed
/// and hash to the challenge it saw at the authorization endpoint.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    is_valid_verifier(verifier) && s256_challenge(verifier) == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636, Appendix B.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn matches_the_rfc_7636_appendix_b_example() {
        assert_eq!(s256_challenge(RFC_VERIFIER), RFC_CHALLENGE);
        assert!(verify_s256(RFC_VERIFIER, RFC_CHALLENGE));
    }

    #[test]
    fn oauth2_crate_generates_what_the_server_verifies() {
        let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
        assert_eq!(challenge.method().as_str(), "S256");
        assert!(is_valid_verifier(verifier.secret()));
        assert!(verify_s256(verifier.secret(), challenge.as_str()));
    }

    #[test]
    fn rejects_malformed_or_mismatched_verifiers() {
        assert!(!verify_s256(
            RFC_VERIFIER,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!verify_s256("short", &s256_challenge("short")));
        let too_long = "a".repeat(129);
        assert!(!verify_s256(&too_long, &s256_challenge(&too_long)));
        let bad_chars = format!("{}+/=", "a".repeat(43));
        assert!(!verify_s256(&bad_chars, &s256_challenge(&bad_chars)));
        assert!(!verify_s256("", ""));
        // The `plain` method is not accepted: the challenge must be the hash, not the verifier.
        assert!(!verify_s256(RFC_VERIFIER, RFC_VERIFIER));
    }
}
