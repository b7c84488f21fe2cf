use berth_api::engine_info::EngineInfo;
use berth_api::engine_watch::EventFeedItem;
use berth_api::transport::DiskUsage;
use berth_core::{ApiError, EngineState, ErrorCode};
use tauri::ipc::Channel;
use tauri::State;

use super::AppState;
use berth_api::transport::ToApi;

#[tauri::command]
pub fn engine_state(state: State<'_, AppState>) -> EngineState {
    state.link.state().get()
}

/// Pushes every engine state transition until the window stops the stream.
#[tauri::command]
pub fn subscribe_engine_state(state: State<'_, AppState>, channel: Channel<EngineState>) -> u32 {
    let mut rx = state.link.state().subscribe();
    state.streams.spawn(async move {
        while rx.changed().await.is_ok() {
            let current = rx.borrow_and_update().clone();
            if channel.send(current).is_err() {
                break;
            }
        }
    })
}

/// The engine's own events (container started, image pulled, ...) for the stores to follow,
/// and a `resync` when this window fell behind a burst.
#[tauri::command]
pub fn subscribe_events(state: State<'_, AppState>, channel: Channel<EventFeedItem>) -> u32 {
    let link = state.link.clone();
    state.streams.spawn(async move {
        link.forward_events(|item| channel.send(item).is_ok()).await;
    })
}

#[tauri::command]
pub fn stop_stream(state: State<'_, AppState>, stream_id: u32) {
    state.streams.stop(stream_id);
}

#[tauri::command]
pub async fn engine_info(state: State<'_, AppState>) -> Result<EngineInfo, ApiError> {
    berth_api::engine_info::engine_info(&state.link).await
}

#[tauri::command]
pub async fn disk_usage(state: State<'_, AppState>) -> Result<DiskUsage, ApiError> {
    state.link.engine().await?.disk_usage().await.to_api()
}

/// Starts the engine (Berth's VM: through the daemon; returns once it runs) or, for an
/// existing engine, reconnects now.
#[tauri::command]
pub async fn start_engine(state: State<'_, AppState>) -> Result<(), ApiError> {
    state.link.start().await
}

#[tauri::command]
pub async fn stop_engine(state: State<'_, AppState>) -> Result<(), ApiError> {
    state.link.stop().await
}

#[tauri::command]
pub async fn restart_engine(state: State<'_, AppState>) -> Result<(), ApiError> {
    state.link.restart().await
}

/// Resource Saver by hand: pauses Berth's VM now; the next connection wakes it.
#[tauri::command]
pub async fn pause_engine(state: State<'_, AppState>) -> Result<(), ApiError> {
    state.link.pause().await
}

/// "Wake now": resumes a paused engine.
#[tauri::command]
pub async fn wake_engine(state: State<'_, AppState>) -> Result<(), ApiError> {
    state.link.wake().await
}

/// The window's answer to "quit": stop the engine first, or leave it running; `remember`
/// makes it the setting for next time.
#[tauri::command]
pub fn quit_app(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    stop_engine: bool,
    remember: bool,
) -> Result<(), ApiError> {
    if remember {
        crate::quit::remember(&state.link, stop_engine)?;
    }
    crate::quit::finish(app, state.link.clone(), stop_engine);
    Ok(())
}

/// Opens a published port in the system browser. Only `http(s)://localhost` URLs: the window
/// cannot make the app open arbitrary programs or files.
#[tauri::command]
pub fn open_url(app: tauri::AppHandle, url: String) -> Result<(), ApiError> {
    use tauri_plugin_opener::OpenerExt;
    if !is_local_web_url(&url) {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!("Berth only opens localhost links, not {url}"),
        ));
    }
    app.opener()
        .open_url(&url, None::<&str>)
        .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))
}

fn is_local_web_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let Some(rest) = rest else { return false };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_localhost_web_urls_open() {
        assert!(is_local_web_url("http://localhost:8080"));
        assert!(is_local_web_url("https://127.0.0.1:8443/x?y"));
        assert!(!is_local_web_url("file:///etc/passwd"));
        assert!(!is_local_web_url("http://localhost.evil.com:80/"));
        assert!(!is_local_web_url("http://example.com/"));
        assert!(!is_local_web_url("javascript:alert(1)"));
    }
}
