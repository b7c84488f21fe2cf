//! Signing in to a registry, pushing and pulling. The sign-in is checked against the
//! registry's `/v2/` as `berth login` checks it, but the credentials stay in the lesson's memory:
//! a lesson never writes the user's keyring or docker config.

use berth_core::ApiError;
use berth_engine::{PullProgress, RegistryAuth};
use berth_hub::registry_auth::{http_client, verify_login, Verified};
use berth_hub::registry_key::registry_key;
use berth_hub::Sensitive;
use futures_util::StreamExt;

use super::ops::{Ctx, Outcome};
use crate::transport::ToApi;

pub(crate) async fn login(
    ctx: &mut Ctx,
    registry: &str,
    username: &str,
    password: &str,
) -> Result<Outcome, ApiError> {
    let secret = Sensitive::new(password.to_string());
    let verified = verify_login(&http_client(), registry, username, &secret)
        .await
        .map_err(|e| ApiError::new(e.code(), berth_hub::error_chain(&e)))?;
    ctx.auth = Some(RegistryAuth {
        username: Some(username.to_string()),
        password: Some(password.to_string()),
        identity_token: None,
        server_address: Some(registry_key(registry)),
    });
    Ok(Outcome::text(match verified {
        Verified::NoAuthRequired => "Login Succeeded (this registry asks for no sign-in)\n",
        _ => "Login Succeeded\n",
    }))
}

/// The lines worth showing: where each layer ended up, and the digest.
fn summary_line(p: &PullProgress) -> Option<String> {
    const NOISE: [&str; 6] = [
        "Preparing",
        "Waiting",
        "Pushing",
        "Downloading",
        "Extracting",
        "Verifying Checksum",
    ];
    if p.status.is_empty() || NOISE.contains(&p.status.as_str()) {
        return None;
    }
    Some(match &p.layer_id {
        Some(layer) => format!("{layer}: {}\n", p.status),
        None => format!("{}\n", p.status),
    })
}

pub(crate) async fn push(ctx: &Ctx, image: &str) -> Result<Outcome, ApiError> {
    let mut stream = Box::pin(ctx.engine.push_image_layers(image, ctx.auth.as_ref()));
    let mut output = String::new();
    while let Some(p) = stream.next().await {
        output.extend(summary_line(&p.to_api()?));
    }
    Ok(Outcome::text(output))
}

pub(crate) async fn pull(ctx: &Ctx, image: &str) -> Result<Outcome, ApiError> {
    let mut stream = Box::pin(ctx.engine.pull_image(image, ctx.auth.as_ref()));
    let mut output = String::new();
    while let Some(p) = stream.next().await {
        output.extend(summary_line(&p.to_api()?));
    }
    Ok(Outcome::text(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(layer: Option<&str>, status: &str) -> PullProgress {
        PullProgress {
            layer_id: layer.map(str::to_string),
            status: status.into(),
            current: None,
            total: None,
        }
    }

    #[test]
    fn progress_noise_is_left_out() {
        assert_eq!(summary_line(&progress(Some("ab"), "Pushing")), None);
        assert_eq!(
            summary_line(&progress(Some("ab"), "Pushed")).as_deref(),
            Some("ab: Pushed\n")
        );
        assert_eq!(
            summary_line(&progress(None, "v1: digest: sha256:1 size: 2")).as_deref(),
            Some("v1: digest: sha256:1 size: 2\n")
        );
    }
}
