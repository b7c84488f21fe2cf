//! Quitting Berth. The engine belongs to the daemon, not to the window: closing the window
//! keeps Berth in the tray, and Quit ends the app. Whether Quit also stops Berth's engine is
//! the user's choice in settings (`app.on_quit`): stop it, keep it running, or ask each time
//! (a dialog in the window: Stop engine and quit / Keep running and quit / Cancel).

use std::sync::Arc;

use berth_core::settings::OnQuit;
use berth_core::{ApiError, EngineState, ErrorCode, Settings};
use tauri::{AppHandle, Emitter, Manager, Wry};

use berth_api::engine_watch::EngineWatch;

use crate::commands::learn::LearnState;

/// Sent to the window when Quit needs the user's answer; the window calls `quit_app`.
pub const QUIT_REQUESTED_EVENT: &str = "berth://quit-requested";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitAction {
    /// End the app; the engine (if any) keeps running.
    Exit,
    /// Stop Berth's engine (and its daemon), then end the app.
    StopEngineThenExit,
    /// Show the question in the window.
    Ask,
}

/// What Quit does for this setting, engine owner and engine state. An engine that is not
/// Berth's, or one that is not running at all, is never stopped and never asked about.
pub fn quit_action(on_quit: OnQuit, owns_engine: bool, state: &EngineState) -> QuitAction {
    if !owns_engine || *state == EngineState::Stopped {
        return QuitAction::Exit;
    }
    match on_quit {
        OnQuit::StopEngine => QuitAction::StopEngineThenExit,
        OnQuit::KeepRunning => QuitAction::Exit,
        OnQuit::Ask => QuitAction::Ask,
    }
}

/// Quit from the tray (or anywhere else): do what the settings say.
pub fn request(app: &AppHandle<Wry>, link: &Arc<EngineWatch>) {
    // Read now, not at launch: the Settings page may have changed it since.
    let berth = link.berth();
    let on_quit = Settings::load(&berth.paths().settings_file())
        .map_or(berth.settings().app.on_quit, |s| s.app.on_quit);
    match quit_action(on_quit, link.owns_engine(), &link.state().get()) {
        QuitAction::Exit => finish(app.clone(), link.clone(), false),
        QuitAction::StopEngineThenExit => finish(app.clone(), link.clone(), true),
        QuitAction::Ask => {
            crate::tray::show_dashboard(app);
            if let Err(e) = app.emit_to("main", QUIT_REQUESTED_EVENT, ()) {
                // No window to ask in: the safe answer keeps the engine (and the user's work).
                tracing::warn!(error = %e, "cannot ask how to quit; leaving the engine running");
                finish(app.clone(), link.clone(), false);
            }
        }
    }
}

/// "Remember my choice": later quits do this without asking (Settings can change it back).
pub fn remember(link: &EngineWatch, stop_engine: bool) -> Result<(), ApiError> {
    let path = link.berth().paths().settings_file();
    let mut settings =
        Settings::load(&path).map_err(|e| ApiError::from_error(ErrorCode::InvalidSettings, &e))?;
    settings.app.on_quit = if stop_engine {
        OnQuit::StopEngine
    } else {
        OnQuit::KeepRunning
    };
    settings
        .save(&path)
        .map_err(|e| ApiError::from_error(ErrorCode::InvalidSettings, &e))
}

/// Ends the app, first removing what a lesson in progress made and then stopping the engine
/// when `stop_engine` (the window hides meanwhile; the tray shows the engine stopping).
pub fn finish(app: AppHandle<Wry>, link: Arc<EngineWatch>, stop_engine: bool) {
    crate::tray::hide_dashboard(&app);
    tauri::async_runtime::spawn(async move {
        if let Some(learning) = app.try_state::<LearnState>() {
            learning.clean_up_on_quit().await;
        }
        if stop_engine {
            if let Err(e) = link.stop_for_quit().await {
                tracing::warn!(error = %e, "stopping the engine on quit failed");
            }
        }
        app.exit(0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::{ErrorCode, StartPhase};

    #[test]
    fn quit_follows_the_setting_for_berths_running_engine() {
        let running = EngineState::running_now();
        assert_eq!(
            quit_action(OnQuit::StopEngine, true, &running),
            QuitAction::StopEngineThenExit
        );
        assert_eq!(
            quit_action(OnQuit::KeepRunning, true, &running),
            QuitAction::Exit
        );
        assert_eq!(quit_action(OnQuit::Ask, true, &running), QuitAction::Ask);
        // A boot in progress or a failed engine still has a VM to stop.
        let booting = EngineState::Starting {
            phase: StartPhase::BootingVm,
        };
        assert_eq!(quit_action(OnQuit::Ask, true, &booting), QuitAction::Ask);
        let failed = EngineState::Error {
            code: ErrorCode::VmFailed,
            message: "x".into(),
        };
        assert_eq!(
            quit_action(OnQuit::StopEngine, true, &failed),
            QuitAction::StopEngineThenExit
        );
    }

    #[test]
    fn quit_never_stops_what_is_not_berths_or_not_running() {
        let running = EngineState::running_now();
        for on_quit in [OnQuit::Ask, OnQuit::StopEngine, OnQuit::KeepRunning] {
            assert_eq!(quit_action(on_quit, false, &running), QuitAction::Exit);
            assert_eq!(
                quit_action(on_quit, true, &EngineState::Stopped),
                QuitAction::Exit
            );
        }
    }

    #[test]
    fn remembering_the_choice_keeps_the_other_settings() {
        let home = tempfile::tempdir().unwrap();
        let paths = berth_core::BerthPaths::under(home.path());
        paths.ensure().unwrap();
        std::fs::write(
            paths.settings_file(),
            "future_key = 1\n[vm]\ncpus = 1\n[app]\non_quit = \"ask\"\n",
        )
        .unwrap();
        let link = EngineWatch::new(berth_api::Berth::open_at(paths.clone()).unwrap());
        remember(&link, false).unwrap();
        let saved = Settings::load(&paths.settings_file()).unwrap();
        assert_eq!(saved.app.on_quit, OnQuit::KeepRunning);
        assert_eq!(saved.vm.cpus, 1);
        assert!(saved.other.contains_key("future_key"));
        remember(&link, true).unwrap();
        let saved = Settings::load(&paths.settings_file()).unwrap();
        assert_eq!(saved.app.on_quit, OnQuit::StopEngine);
    }
}
