//! The tray icon: its picture, tooltip and menu follow the engine state machine, in the
//! language of [`ShellLocale`]. Start, Stop and Restart go through the engine link (requests to
//! Berth's daemon); Quit through [`crate::quit`].

use std::future::Future;
use std::sync::Arc;

use berth_api::language::Locale;
use berth_core::{ApiError, EngineState, StartPhase};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Emitter, Manager, Wry};

use berth_api::engine_watch::EngineWatch;

use crate::text::{ShellLocale, Text};

/// Sent to the window by the tray's "Sign in…": the window starts the sign-in flow.
pub const SIGN_IN_EVENT: &str = "berth://sign-in";

/// What the tray shows for one engine state (pure, so it is tested without a display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub state_line: String,
    pub tooltip: String,
    pub can_start: bool,
    /// Stop and Restart: only for Berth's own engine.
    pub can_stop: bool,
    /// "Wake engine now": Berth's own engine, paused.
    pub can_wake: bool,
    /// The status dot's colour, RGB.
    pub dot: [u8; 3],
}

/// `owns_engine`: whether the engine is Berth's VM (an existing engine is not Berth's to stop).
pub fn view(state: &EngineState, owns_engine: bool, locale: Locale) -> TrayView {
    const GREEN: [u8; 3] = [0x1a, 0x9f, 0x53];
    const AMBER: [u8; 3] = [0xe5, 0xa9, 0x3b];
    const RED: [u8; 3] = [0xd9, 0x3a, 0x3a];
    const GREY: [u8; 3] = [0x8d, 0x98, 0xa5];
    const BLUE: [u8; 3] = [0x3b, 0x82, 0xe5];
    let say = |text: Text| text.get(locale).to_string();
    let (line, dot) = match state {
        EngineState::Running { .. } => (say(Text::EngineRunning), GREEN),
        EngineState::Starting { phase } => {
            let phase = match phase {
                StartPhase::BootingVm => Text::PhaseBootingVm,
                StartPhase::WaitingForAgent => Text::PhaseWaitingForAgent,
                StartPhase::WaitingForEngine => Text::PhaseWaitingForEngine,
            };
            let line = say(Text::EngineStarting).replace("{phase}", phase.get(locale));
            (line, AMBER)
        }
        EngineState::Paused { .. } => (say(Text::EnginePaused), BLUE),
        EngineState::Stopping => (say(Text::EngineStopping), AMBER),
        EngineState::Stopped => (say(Text::EngineStopped), GREY),
        EngineState::Error { message, .. } => {
            (say(Text::EngineError).replace("{message}", message), RED)
        }
    };
    TrayView {
        tooltip: format!("Berth — {line}"),
        state_line: truncate(&line, 60),
        can_start: state.can_start(),
        can_stop: owns_engine && state.can_stop(),
        can_wake: owns_engine && state.is_paused(),
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

/// The menu's items, kept to follow the state and the language.
struct Items {
    state: MenuItem<Wry>,
    start: MenuItem<Wry>,
    stop: MenuItem<Wry>,
    restart: MenuItem<Wry>,
    wake: MenuItem<Wry>,
    dashboard: MenuItem<Wry>,
    sign_in: MenuItem<Wry>,
    quit: MenuItem<Wry>,
}

impl Items {
    fn new(app: &AppHandle<Wry>) -> tauri::Result<Items> {
        let item = |id: &str| MenuItem::with_id(app, id, "", false, None::<&str>);
        Ok(Items {
            state: item("state")?,
            start: item("start")?,
            stop: item("stop")?,
            restart: item("restart")?,
            wake: item("wake")?,
            dashboard: item("dashboard")?,
            sign_in: item("sign_in")?,
            quit: item("quit")?,
        })
    }

    /// Every text, enabled item, the tooltip and the icon for `state` in `locale`.
    fn show(&self, tray: Option<&TrayIcon<Wry>>, v: &TrayView, locale: Locale) {
        let label = |item: &MenuItem<Wry>, text: Text| item.set_text(text.get(locale));
        let mut results = vec![
            self.state.set_text(&v.state_line),
            label(&self.start, Text::StartEngine),
            label(&self.stop, Text::StopEngine),
            label(&self.restart, Text::RestartEngine),
            label(&self.wake, Text::WakeEngine),
            label(&self.dashboard, Text::OpenDashboard),
            label(&self.sign_in, Text::SignIn),
            label(&self.quit, Text::QuitBerth),
            self.start.set_enabled(v.can_start),
            self.stop.set_enabled(v.can_stop),
            self.restart.set_enabled(v.can_stop),
            self.wake.set_enabled(v.can_wake),
            self.dashboard.set_enabled(true),
            self.sign_in.set_enabled(true),
            self.quit.set_enabled(true),
        ];
        if let Some(tray) = tray {
            results.push(tray.set_tooltip(Some(&v.tooltip)));
            results.push(tray.set_icon(Some(icon_with_dot(v.dot))));
        }
        for r in results {
            if let Err(e) = r {
                tracing::debug!(error = %e, "tray update failed");
            }
        }
    }
}

pub fn create(app: &AppHandle<Wry>, link: Arc<EngineWatch>) -> tauri::Result<()> {
    let owned = link.owns_engine();
    let mut locale = app.state::<ShellLocale>().subscribe();
    let initial = view(&link.state().get(), owned, *locale.borrow_and_update());
    let items = Items::new(app)?;
    items.show(None, &initial, *locale.borrow());
    let menu = Menu::with_items(
        app,
        &[
            &items.state,
            &PredefinedMenuItem::separator(app)?,
            &items.wake,
            &items.start,
            &items.stop,
            &items.restart,
            &PredefinedMenuItem::separator(app)?,
            &items.dashboard,
            &items.sign_in,
            &PredefinedMenuItem::separator(app)?,
            &items.quit,
        ],
    )?;
    let menu_link = link.clone();
    let tray = TrayIconBuilder::with_id("berth")
        .icon(icon_with_dot(initial.dot))
        .tooltip(&initial.tooltip)
        .menu(&menu)
        .on_menu_event(move |app, event| {
            let link = menu_link.clone();
            match event.id.as_ref() {
                "start" => in_background("start", async move { link.start().await }),
                "stop" => in_background("stop", async move { link.stop().await }),
                "restart" => in_background("restart", async move { link.restart().await }),
                "wake" => in_background("wake", async move { link.wake().await }),
                "dashboard" => show_dashboard(app),
                "sign_in" => ask_to_sign_in(app),
                "quit" => crate::quit::request(app, &link),
                _ => {}
            }
        })
        .build(app)?;

    // A new engine state or a new language: the whole tray is shown again.
    let mut state = link.state().subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::select! {
                changed = state.changed() => if changed.is_err() { break },
                changed = locale.changed() => if changed.is_err() { break },
            }
            let lang = *locale.borrow_and_update();
            let v = view(&state.borrow_and_update().clone(), owned, lang);
            items.show(Some(&tray), &v, lang);
        }
    });
    Ok(())
}

/// A lifecycle request from the menu: its progress and failure show in the state line (the
/// engine link mirrors the daemon), so here it is only logged.
fn in_background(
    what: &'static str,
    request: impl Future<Output = Result<(), ApiError>> + Send + 'static,
) {
    tauri::async_runtime::spawn(async move {
        if let Err(e) = request.await {
            tracing::warn!(error = %e, "{what} from the tray");
        }
    });
}

/// "Sign in…": bring the dashboard up and let it run the sign-in flow.
fn ask_to_sign_in(app: &AppHandle<Wry>) {
    show_dashboard(app);
    if let Err(e) = app.emit_to("main", SIGN_IN_EVENT, ()) {
        tracing::warn!(error = %e, "cannot ask the window to sign in");
    }
}

pub fn hide_dashboard(app: &AppHandle<Wry>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.hide();
    }
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
        let running = view(&EngineState::running_now(), true, Locale::En);
        assert_eq!(running.state_line, "Engine running");
        assert!(!running.can_start && running.can_stop && !running.can_wake);

        let paused = view(&EngineState::paused_now(), true, Locale::Ja);
        assert_eq!(paused.state_line, "エンジン一時停止中 (リソースセーバー)");
        assert!(paused.can_wake && paused.can_stop && !paused.can_start);
        assert!(!view(&EngineState::paused_now(), false, Locale::En).can_wake);

        let stopped = view(&EngineState::Stopped, true, Locale::En);
        assert!(stopped.can_start && !stopped.can_stop);

        let starting = view(
            &EngineState::Starting {
                phase: StartPhase::WaitingForAgent,
            },
            true,
            Locale::En,
        );
        assert_eq!(starting.state_line, "Engine starting (waiting for agent)");
        assert!(!starting.can_start && starting.can_stop);

        let failed = view(
            &EngineState::Error {
                code: ErrorCode::EngineUnreachable,
                message: "x".repeat(200),
            },
            true,
            Locale::En,
        );
        assert!(failed.can_start && failed.can_stop);
        assert_eq!(failed.state_line.chars().count(), 60);
        assert!(failed.state_line.starts_with("Error: xxx"));
        assert!(failed.tooltip.starts_with("Berth — Error: xxx"));
        assert_ne!(failed.dot, running.dot);
    }

    #[test]
    fn an_error_names_its_reason_in_the_state_line_and_tooltip() {
        let failed = view(
            &EngineState::Error {
                code: ErrorCode::VmFailed,
                message: "the VM exited with code 1".into(),
            },
            true,
            Locale::En,
        );
        assert_eq!(failed.state_line, "Error: the VM exited with code 1");
        assert_eq!(failed.tooltip, "Berth — Error: the VM exited with code 1");
        // A missing host program fits the menu line whole: the tool and how to install it.
        let missing = view(
            &EngineState::Error {
                code: ErrorCode::MissingTool,
                message: "qemu-img not found: install the qemu-utils package".into(),
            },
            true,
            Locale::En,
        );
        assert_eq!(
            missing.state_line,
            "Error: qemu-img not found: install the qemu-utils package"
        );
        assert!(missing.can_start, "Start is the retry once it is installed");
    }

    #[test]
    fn an_existing_engine_cannot_be_stopped_from_the_tray() {
        let running = view(&EngineState::running_now(), false, Locale::En);
        assert!(!running.can_start && !running.can_stop);
        let unreachable = view(
            &EngineState::Error {
                code: ErrorCode::EngineUnreachable,
                message: "gone".into(),
            },
            false,
            Locale::En,
        );
        // Start means "reconnect now" there.
        assert!(unreachable.can_start && !unreachable.can_stop);
    }

    #[test]
    fn the_tray_speaks_the_chosen_language() {
        let starting = view(
            &EngineState::Starting {
                phase: StartPhase::BootingVm,
            },
            true,
            Locale::Ja,
        );
        assert_eq!(
            starting.state_line,
            "エンジンを起動しています (VM を起動中)"
        );
        let paused = view(&EngineState::paused_now(), true, Locale::Ja);
        assert_eq!(
            paused.tooltip,
            "Berth — エンジン一時停止中 (リソースセーバー)"
        );
        let failed = view(
            &EngineState::Error {
                code: ErrorCode::VmFailed,
                message: "the VM exited with code 1".into(),
            },
            true,
            Locale::Ja,
        );
        // The engine link's message is not translated; the words around it are.
        assert_eq!(failed.state_line, "エラー: the VM exited with code 1");
        let paused = view(&EngineState::paused_now(), true, Locale::En);
        assert_eq!(paused.state_line, "Engine paused (Resource Saver)");
    }

    #[test]
    fn the_tray_icon_gets_a_coloured_dot() {
        let icon = icon_with_dot([1, 2, 3]);
        let (w, h) = (icon.width(), icon.height());
        let i = (((h - 8) * w + (w - 8)) * 4) as usize;
        assert_eq!(&icon.rgba()[i..i + 4], &[1, 2, 3, 255]);
    }
}
