//! The tray icon: its picture, tooltip and menu follow the engine state machine.

use std::sync::Arc;

use berth_core::EngineState;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

use crate::engine_link::EngineLink;

/// What the tray shows for one engine state (pure, so it is tested without a display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub state_line: String,
    pub tooltip: String,
    pub can_start: bool,
    pub can_stop: bool,
    /// The status dot's colour, RGB.
    pub dot: [u8; 3],
}

pub fn view(state: &EngineState) -> TrayView {
    const GREEN: [u8; 3] = [0x1a, 0x9f, 0x53];
    const AMBER: [u8; 3] = [0xe5, 0xa9, 0x3b];
    const RED: [u8; 3] = [0xd9, 0x3a, 0x3a];
    const GREY: [u8; 3] = [0x8d, 0x98, 0xa5];
    let (line, dot) = match state {
        EngineState::Running { .. } => ("Engine running".to_string(), GREEN),
        EngineState::Starting { phase } => (
            format!(
                "Engine starting ({})",
                serde_json::to_value(phase)
                    .ok()
                    .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                    .unwrap_or_default()
            ),
            AMBER,
        ),
        EngineState::Stopping => ("Engine stopping".to_string(), AMBER),
        EngineState::Stopped => ("Engine stopped".to_string(), GREY),
        EngineState::Error { message, .. } => (format!("Engine error: {message}"), RED),
    };
    TrayView {
        tooltip: format!("Berth — {line}"),
        state_line: truncate(&line, 60),
        can_start: state.can_start(),
        can_stop: state.can_stop(),
        dot,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// The app icon with a status dot in its lower-right corner.
fn icon_with_dot(dot: [u8; 3]) -> Image<'static> {
    let base = Image::from_bytes(include_bytes!("../icons/32x32.png"))
        .expect("the bundled icon is a valid PNG");
    let (w, h) = (base.width(), base.height());
    let mut rgba = base.rgba().to_vec();
    let (cx, cy, r) = (w as f32 - 7.5, h as f32 - 7.5, 7.0_f32);
    for y in 0..h {
        for x in 0..w {
            let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
            let i = ((y * w + x) * 4) as usize;
            if d <= r - 1.5 {
                rgba[i..i + 4].copy_from_slice(&[dot[0], dot[1], dot[2], 255]);
            } else if d <= r {
                rgba[i..i + 4].copy_from_slice(&[255, 255, 255, 255]);
            }
        }
    }
    Image::new_owned(rgba, w, h)
}

pub fn create(app: &AppHandle<Wry>, link: Arc<EngineLink>) -> tauri::Result<()> {
    let initial = view(&link.state().get());
    let state_item = MenuItem::with_id(app, "state", &initial.state_line, false, None::<&str>)?;
    let start = MenuItem::with_id(
        app,
        "start",
        "Start engine",
        initial.can_start,
        None::<&str>,
    )?;
    let stop = MenuItem::with_id(app, "stop", "Stop engine", initial.can_stop, None::<&str>)?;
    let restart = MenuItem::with_id(
        app,
        "restart",
        "Restart engine",
        initial.can_stop,
        None::<&str>,
    )?;
    let dashboard = MenuItem::with_id(app, "dashboard", "Open Dashboard", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Berth", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &state_item,
            &PredefinedMenuItem::separator(app)?,
            &start,
            &stop,
            &restart,
            &PredefinedMenuItem::separator(app)?,
            &dashboard,
            &quit,
        ],
    )?;
    let menu_link = link.clone();
    let tray = TrayIconBuilder::with_id("berth")
        .icon(icon_with_dot(initial.dot))
        .tooltip(&initial.tooltip)
        .menu(&menu)
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "start" | "restart" => menu_link.start(),
            "stop" => {
                if let Err(e) = menu_link.stop() {
                    tracing::warn!(error = %e, "stop from the tray");
                }
            }
            "dashboard" => show_dashboard(app),
            // The engine is the daemon's, not the window's: quitting leaves it running.
            "quit" => app.exit(0),
            _ => {}
        })
        .build(app)?;

    let mut rx = link.state().subscribe();
    tauri::async_runtime::spawn(async move {
        while rx.changed().await.is_ok() {
            let v = view(&rx.borrow_and_update().clone());
            let results = [
                state_item.set_text(&v.state_line),
                start.set_enabled(v.can_start),
                stop.set_enabled(v.can_stop),
                restart.set_enabled(v.can_stop),
                tray.set_tooltip(Some(&v.tooltip)),
                tray.set_icon(Some(icon_with_dot(v.dot))),
            ];
            for r in results {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "tray update failed");
                }
            }
        }
    });
    Ok(())
}

pub fn show_dashboard(app: &AppHandle<Wry>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::{ErrorCode, StartPhase};

    #[test]
    fn menu_follows_the_state_machine() {
        let running = view(&EngineState::running_now());
        assert_eq!(running.state_line, "Engine running");
        assert!(!running.can_start && running.can_stop);

        let stopped = view(&EngineState::Stopped);
        assert!(stopped.can_start && !stopped.can_stop);

        let starting = view(&EngineState::Starting {
            phase: StartPhase::WaitingForAgent,
        });
        assert_eq!(starting.state_line, "Engine starting (waiting for agent)");
        assert!(!starting.can_start);

        let failed = view(&EngineState::Error {
            code: ErrorCode::EngineUnreachable,
            message: "x".repeat(200),
        });
        assert!(failed.can_start);
        assert_eq!(failed.state_line.chars().count(), 60);
        assert!(failed.tooltip.starts_with("Berth — Engine error: xxx"));
        assert_ne!(failed.dot, running.dot);
    }

    #[test]
    fn the_tray_icon_gets_a_coloured_dot() {
        let icon = icon_with_dot([1, 2, 3]);
        let (w, h) = (icon.width(), icon.height());
        let i = (((h - 8) * w + (w - 8)) * 4) as usize;
        assert_eq!(&icon.rgba()[i..i + 4], &[1, 2, 3, 255]);
    }
}
