//! Pulling and pushing an image as the user is signed in: with the credentials stored for the
//! image's registry, anonymously when there are none (a public image must still pull).

use berth_core::ApiError;
use futures_util::{Stream, StreamExt};

use crate::transport::{Engine, EngineError, PullProgress, RegistryAuth, ToApi};
use crate::Berth;

/// Pulls `reference`, handing every progress message to `progress`; returns once the image
/// has landed (or with the first error the engine sends).
pub async fn pull(
    berth: &Berth,
    engine: &Engine,
    reference: &str,
    progress: impl FnMut(PullProgress),
) -> Result<(), ApiError> {
    signed_in(berth, reference, progress, |auth| {
        engine.pull_image(reference, auth)
    })
    .await
}

/// Pushes `reference` (one of the image's tags), handing every progress message, with the
/// layer it is about, to `progress`; returns once the registry has the tag.
pub async fn push(
    berth: &Berth,
    engine: &Engine,
    reference: &str,
    progress: impl FnMut(PullProgress),
) -> Result<(), ApiError> {
    signed_in(berth, reference, progress, |auth| {
        engine.push_image_layers(reference, auth)
    })
    .await
}

/// Runs the engine's transfer of `reference` with the stored credentials for its registry.
async fn signed_in<S>(
    berth: &Berth,
    reference: &str,
    mut progress: impl FnMut(PullProgress),
    transfer: impl FnOnce(Option<&RegistryAuth>) -> S,
) -> Result<(), ApiError>
where
    S: Stream<Item = Result<PullProgress, EngineError>>,
{
    let credentials = berth.registry_credentials(reference).await;
    let mut messages = Box::pin(transfer(credentials.as_ref()));
    while let Some(message) = messages.next().await {
        progress(message.to_api()?);
    }
    Ok(())
}
