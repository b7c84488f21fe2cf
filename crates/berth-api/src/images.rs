//! Pulling and pushing an image as the user is signed in: with the credentials stored for the
//! image's registry, anonymously when there are none (a public image must still pull).

use berth_core::ApiError;
use futures_util::StreamExt;

use crate::transport::{Engine, PullProgress, ToApi};
use crate::Berth;

/// Pulls `reference`, handing every progress message to `progress`; returns once the image
/// has landed (or with the first error the engine sends).
pub async fn pull(
    berth: &Berth,
    engine: &Engine,
    reference: &str,
    mut progress: impl FnMut(PullProgress),
) -> Result<(), ApiError> {
    let credentials = berth.registry_credentials(reference).await;
    let mut messages = Box::pin(engine.pull_image(reference, credentials.as_ref()));
    while let Some(message) = messages.next().await {
        progress(message.to_api()?);
    }
    Ok(())
}

/// Pushes `reference` (one of the image's tags), handing every progress message, with the
/// layer it is about, to `progress`; returns once the registry has the tag.
pub async fn push(
    berth: &Berth,
    engine: &Engine,
    reference: &str,
    mut progress: impl FnMut(PullProgress),
) -> Result<(), ApiError> {
    let credentials = berth.registry_credentials(reference).await;
    let mut messages = Box::pin(engine.push_image_layers(reference, credentials.as_ref()));
    while let Some(message) = messages.next().await {
        progress(message.to_api()?);
    }
    Ok(())
}
