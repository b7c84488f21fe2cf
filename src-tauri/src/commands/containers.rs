use berth_api::containers::{self, ContainerAction};
use berth_api::transport::{
    ContainerFilter, ContainerSummary, ExecOptions, ExecSession, LogLine, LogOptions, PruneReport,
    RunSpec, StatsSample,
};
use berth_core::{ApiError, ErrorCode};
use futures_util::StreamExt;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::State;
use tokio::io::AsyncWriteExt;

use super::AppState;
use crate::streams::ExecIo;
use berth_api::engine_watch::PortWarning;
use berth_api::file_listing::{self, FileEntry};
use berth_api::stats_feed::StatsFeed;
use berth_api::transport::ToApi;

/// One container as its row shows it, or `null` when it is gone (after an event about it).
#[tauri::command]
pub async fn get_container(
    state: State<'_, AppState>,
    id: String,
) -> Result<Option<ContainerSummary>, ApiError> {
    state.link.container(&id).await
}

#[tauri::command]
pub async fn list_containers(
    state: State<'_, AppState>,
) -> Result<Vec<ContainerSummary>, ApiError> {
    let engine = state.link.engine().await?;
    engine
        .list_containers(&ContainerFilter::all())
        .await
        .to_api()
}

#[tauri::command]
pub async fn container_action(
    state: State<'_, AppState>,
    id: String,
    action: ContainerAction,
) -> Result<(), ApiError> {
    containers::act(&state.link.engine().await?, &id, action).await
}

#[tauri::command]
pub async fn remove_container(
    state: State<'_, AppState>,
    id: String,
    force: bool,
) -> Result<(), ApiError> {
    containers::remove(&state.link.engine().await?, &id, force).await
}

#[tauri::command]
pub async fn inspect_container(
    state: State<'_, AppState>,
    id: String,
) -> Result<serde_json::Value, ApiError> {
    let inspect = state
        .link
        .engine()
        .await?
        .inspect_container(&id)
        .await
        .to_api()?;
    serde_json::to_value(inspect).map_err(|e| ApiError::from_error(ErrorCode::Internal, &e))
}

#[tauri::command]
pub async fn stream_logs(
    state: State<'_, AppState>,
    id: String,
    opts: LogOptions,
    channel: Channel<LogLine>,
) -> Result<u32, ApiError> {
    let mut logs = Box::pin(state.link.engine().await?.logs(&id, &opts));
    Ok(state.streams.spawn(async move {
        while let Some(Ok(line)) = logs.next().await {
            if channel.send(line).is_err() {
                break;
            }
        }
    }))
}

#[tauri::command]
pub async fn stream_stats(
    state: State<'_, AppState>,
    id: String,
    channel: Channel<StatsSample>,
) -> Result<u32, ApiError> {
    let mut stats = Box::pin(state.link.engine().await?.stats(&id, true));
    Ok(state.streams.spawn(async move {
        while let Some(Ok(sample)) = stats.next().await {
            if channel.send(sample).is_err() {
                break;
            }
        }
    }))
}

/// The containers list's CPU and memory cells: a feed that sends a batch of samples a second
/// for the rows the window points it at (`watch_stats`); `stop_stream` ends it.
#[tauri::command]
pub async fn open_stats_feed(
    state: State<'_, AppState>,
    channel: Channel<Vec<StatsSample>>,
) -> Result<u32, ApiError> {
    Ok(state
        .streams
        .add_feed(StatsFeed::open(move |batch| channel.send(batch).is_ok())))
}

/// Makes `ids` the containers `feed` samples: new ones start, the ones left out stop.
#[tauri::command]
pub async fn watch_stats(
    state: State<'_, AppState>,
    feed: u32,
    ids: Vec<String>,
) -> Result<(), ApiError> {
    let feed = state.streams.feed(feed)?;
    feed.watch(&state.link.engine().await?, ids);
    Ok(())
}

/// Starts `cmd` with a TTY in the container; output goes to `channel` as raw bytes
/// (an `ArrayBuffer` in the window, straight into xterm.js).
#[tauri::command]
pub async fn exec_start(
    state: State<'_, AppState>,
    id: String,
    cmd: Vec<String>,
    cols: u16,
    rows: u16,
    channel: Channel<InvokeResponseBody>,
) -> Result<u32, ApiError> {
    let session = state
        .link
        .engine()
        .await?
        .exec(&id, &ExecOptions::interactive(cmd))
        .await
        .to_api()?;
    let ExecSession {
        handle,
        input,
        mut output,
    } = session;
    // The first resize can race the exec's start; the window resizes again on any change.
    let _ = handle.resize(cols, rows).await;
    let stream_id = state.streams.spawn(async move {
        while let Some(Ok(chunk)) = output.next().await {
            if channel.send(InvokeResponseBody::Raw(chunk.data)).is_err() {
                break;
            }
        }
    });
    let io = ExecIo {
        handle,
        input: tokio::sync::Mutex::new(input),
    };
    state.streams.add_exec(stream_id, io);
    Ok(stream_id)
}

#[tauri::command]
pub async fn exec_write(
    state: State<'_, AppState>,
    session_id: u32,
    data: String,
) -> Result<(), ApiError> {
    let io = state.streams.exec(session_id)?;
    let mut input = io.input.lock().await;
    input
        .write_all(data.as_bytes())
        .await
        .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))?;
    input
        .flush()
        .await
        .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))
}

#[tauri::command]
pub async fn exec_resize(
    state: State<'_, AppState>,
    session_id: u32,
    cols: u16,
    rows: u16,
) -> Result<(), ApiError> {
    state
        .streams
        .exec(session_id)?
        .handle
        .resize(cols, rows)
        .await
        .to_api()
}

#[tauri::command]
pub async fn run_container(state: State<'_, AppState>, spec: RunSpec) -> Result<String, ApiError> {
    spec.validate().to_api()?;
    state.link.engine().await?.run(&spec).await.to_api()
}

#[tauri::command]
pub async fn prune_containers(state: State<'_, AppState>) -> Result<PruneReport, ApiError> {
    state.link.engine().await?.prune_containers().await.to_api()
}

#[tauri::command]
pub async fn list_container_files(
    state: State<'_, AppState>,
    id: String,
    path: String,
) -> Result<Vec<FileEntry>, ApiError> {
    file_listing::list(&state.link.engine().await?, &id, &path).await
}

/// The ports that could not be published on the host right now (the initial load; changes come
/// through `subscribe_port_warnings`).
#[tauri::command]
pub fn port_warnings(state: State<'_, AppState>) -> Vec<PortWarning> {
    state.link.port_warnings()
}

/// Pushes the whole list of port warnings whenever it changes, until the window stops the stream.
#[tauri::command]
pub fn subscribe_port_warnings(
    state: State<'_, AppState>,
    channel: Channel<Vec<PortWarning>>,
) -> u32 {
    let mut rx = state.link.subscribe_port_warnings();
    state.streams.spawn(async move {
        while rx.changed().await.is_ok() {
            let current = rx.borrow_and_update().clone();
            if channel.send(current).is_err() {
                break;
            }
        }
    })
}
