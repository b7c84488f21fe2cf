//! What the dashboard does to one container.

use crate::transport::{Engine, RemoveOptions};
use berth_core::ApiError;
use serde::Deserialize;

use crate::transport::ToApi;

/// A button on a container's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerAction {
    Start,
    Stop,
    Restart,
    Pause,
    Unpause,
    Kill,
}

/// Does `action` to container `id` with the engine's defaults (its stop timeout, SIGKILL).
pub async fn act(engine: &Engine, id: &str, action: ContainerAction) -> Result<(), ApiError> {
    match action {
        ContainerAction::Start => engine.start_container(id).await,
        ContainerAction::Stop => engine.stop_container(id, None).await,
        ContainerAction::Restart => engine.restart_container(id, None).await,
        ContainerAction::Pause => engine.pause_container(id).await,
        ContainerAction::Unpause => engine.unpause_container(id).await,
        ContainerAction::Kill => engine.kill_container(id, None).await,
    }
    .to_api()
}

/// Removes container `id` (running ones only with `force`), keeping its anonymous volumes.
pub async fn remove(engine: &Engine, id: &str, force: bool) -> Result<(), ApiError> {
    let options = RemoveOptions {
        force,
        volumes: false,
    };
    engine.remove_container(id, options).await.to_api()
}
