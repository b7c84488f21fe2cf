//! Berth's window and tray: thin Tauri commands over `berth-api`, an engine link that follows
//! Berth's daemon (or an existing engine) and turns the engine's events into UI events and
//! tray state, the tray itself, and Quit.

#[cfg(test)]
mod bindings;
pub mod commands;
pub mod quit;
pub mod streams;
pub mod text;
pub mod tray;

use berth_api::Berth;
use tauri::{Builder, WindowEvent, Wry};

use crate::commands::AppState;
use crate::streams::Streams;
use crate::text::ShellLocale;
use berth_api::engine_watch::EngineWatch;

/// Everything Berth adds to a Tauri builder: single instance, commands, tray, close-to-tray.
/// Tests and `run` share it.
pub fn build_app(builder: Builder<Wry>, berth: Berth) -> Builder<Wry> {
    let locale = ShellLocale::new(berth_api::language::of(berth.settings()));
    let link = EngineWatch::new(berth);
    let setup_link = link.clone();
    builder
        // First, so a second launch only raises the existing window.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tray::show_dashboard(app)
        }))
        .plugin(tauri_plugin_opener::init())
        // "Start Berth at login"; only Rust calls it (commands::settings), the window cannot.
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .app_name("Berth")
                .build(),
        )
        .manage(AppState {
            link,
            streams: Streams::default(),
        })
        .manage(locale)
        .manage(commands::learn::LearnState::default())
        .invoke_handler(all_commands!())
        .setup(move |app| {
            tray::create(app.handle(), setup_link.clone())?;
            tauri::async_runtime::spawn(setup_link.clone().supervise());
            tauri::async_runtime::spawn(berth_api::swarm::autoscale::apply_while_open(
                setup_link.clone(),
            ));
            if starts_engine_at_launch(&setup_link) {
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = setup_link.start().await {
                        tracing::warn!(error = %e, "starting the engine at launch");
                    }
                });
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Berth (and the engine) running in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                let _ = window.hide();
            }
        })
}

/// Berth's own engine, with `app.start_engine_at_launch` on. An existing engine is not
/// Berth's to start.
fn starts_engine_at_launch(link: &EngineWatch) -> bool {
    link.owns_engine() && link.berth().settings().app.start_engine_at_launch
}

/// Whether a window can be shown at all (Linux without X11/Wayland cannot).
pub fn has_display() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let berth = match Berth::open() {
        Ok(berth) => berth,
        Err(e) => {
            eprintln!("berth: {}", e.message);
            std::process::exit(2);
        }
    };
    if !has_display() {
        run_headless(&berth);
        return;
    }
    // The backend mostly waits on the engine: two workers serve it on any machine, where Tauri's
    // default runtime starts one per core, each with its own stack and allocator arena.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("berth-app-rt")
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("berth: cannot start the app's runtime: {e}");
            std::process::exit(1);
        });
    tauri::async_runtime::set(runtime.handle().clone());
    build_app(Builder::default(), berth)
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("berth: cannot open the dashboard: {e}");
            std::process::exit(1);
        });
}

/// No display: say so, start Berth's engine per settings (it lives on in its daemon), and
/// report the engine instead of failing.
fn run_headless(berth: &Berth) {
    eprintln!("berth: no display (DISPLAY/WAYLAND_DISPLAY unset): not opening the dashboard.");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let owned = berth_api::engine_watch::is_berths_engine(berth);
    if owned && berth.settings().app.start_engine_at_launch {
        eprintln!("berth: starting the engine (this can take a minute)…");
        if let Err(e) = runtime.block_on(berth.start_engine(false)) {
            eprintln!("berth: the engine did not start: {}", e.message);
            std::process::exit(1);
        }
    }
    let status = runtime.block_on(berth.status());
    match (&status.engine, &status.error) {
        (Some(v), _) => eprintln!(
            "berth: engine {} is running at {}; use `berth` or `docker` from this shell.",
            v.version, status.endpoint
        ),
        (None, Some(e)) if owned => eprintln!(
            "berth: the engine is not running ({}); start it with `berth start`.",
            e.message
        ),
        (None, Some(e)) => eprintln!(
            "berth: the engine at {} does not answer: {}",
            status.endpoint, e.message
        ),
        (None, None) => {}
    }
}
