//! The commands the window may call: each a few lines delegating to `berth-api`/`berth-engine`.
//! Errors cross as `{code, message}`; long streams go over `tauri::ipc::Channel`s.

pub mod compose;
pub mod containers;
pub mod engine;
pub mod engines;
pub mod hub;
pub mod images;
pub mod learn;
pub mod networks;
pub mod settings;
pub mod swarm;
pub mod troubleshoot;
pub mod volumes;

use std::sync::Arc;

use crate::streams::Streams;
use berth_api::engine_watch::EngineWatch;

/// What every command can reach.
pub struct AppState {
    pub link: Arc<EngineWatch>,
    pub streams: Streams,
}

/// Registers every command with the builder (the list the capability file allows).
#[macro_export]
macro_rules! all_commands {
    () => {
        tauri::generate_handler![
            $crate::commands::engine::engine_state,
            $crate::commands::engine::subscribe_engine_state,
            $crate::commands::engine::engine_info,
            $crate::commands::engine::disk_usage,
            $crate::commands::engine::start_engine,
            $crate::commands::engine::stop_engine,
            $crate::commands::engine::restart_engine,
            $crate::commands::engine::pause_engine,
            $crate::commands::engine::wake_engine,
            $crate::commands::engine::quit_app,
            $crate::commands::engine::subscribe_events,
            $crate::commands::engine::stop_stream,
            $crate::commands::engine::open_url,
            $crate::commands::engines::list_engines,
            $crate::commands::engines::add_remote_engine,
            $crate::commands::engines::use_engine,
            $crate::commands::engines::remove_engine,
            $crate::commands::engines::followed_engine,
            $crate::commands::engines::switch_engine,
            $crate::commands::containers::list_containers,
            $crate::commands::containers::container_action,
            $crate::commands::containers::remove_container,
            $crate::commands::containers::inspect_container,
            $crate::commands::containers::stream_logs,
            $crate::commands::containers::stream_stats,
            $crate::commands::containers::open_stats_feed,
            $crate::commands::containers::get_container,
            $crate::commands::containers::watch_stats,
            $crate::commands::containers::exec_start,
            $crate::commands::containers::exec_write,
            $crate::commands::containers::exec_resize,
            $crate::commands::containers::run_container,
            $crate::commands::containers::prune_containers,
            $crate::commands::containers::list_container_files,
            $crate::commands::containers::port_warnings,
            $crate::commands::containers::subscribe_port_warnings,
            $crate::commands::images::list_images,
            $crate::commands::images::pull_image,
            $crate::commands::images::remove_image,
            $crate::commands::images::prune_images,
            $crate::commands::images::tag_image,
            $crate::commands::images::push_image,
            $crate::commands::images::image_history,
            $crate::commands::volumes::list_volumes,
            $crate::commands::volumes::create_volume,
            $crate::commands::volumes::remove_volume,
            $crate::commands::volumes::prune_volumes,
            $crate::commands::volumes::list_volume_files,
            $crate::commands::volumes::export_volume,
            $crate::commands::volumes::import_volume,
            $crate::commands::volumes::pick_archive,
            $crate::commands::networks::list_networks,
            $crate::commands::networks::inspect_network,
            $crate::commands::networks::create_network,
            $crate::commands::networks::remove_network,
            $crate::commands::networks::connect_network,
            $crate::commands::networks::disconnect_network,
            $crate::commands::compose::list_compose_projects,
            $crate::commands::compose::compose_containers,
            $crate::commands::compose::compose_action,
            $crate::commands::compose::stream_compose_logs,
            $crate::commands::compose::compose_preview,
            $crate::commands::compose::compose_up,
            $crate::commands::hub::hub_account,
            $crate::commands::hub::hub_sign_in,
            $crate::commands::hub::hub_sign_out,
            $crate::commands::hub::list_registries,
            $crate::commands::hub::add_registry,
            $crate::commands::hub::hub_repositories,
            $crate::commands::hub::hub_search,
            $crate::commands::learn::learn_lessons,
            $crate::commands::learn::learn_start,
            $crate::commands::learn::learn_step,
            $crate::commands::learn::learn_run_step,
            $crate::commands::learn::learn_leave,
            $crate::commands::swarm::swarm_overview,
            $crate::commands::swarm::swarm_init,
            $crate::commands::swarm::swarm_tasks,
            $crate::commands::swarm::swarm_scale,
            $crate::commands::swarm::swarm_update_image,
            $crate::commands::swarm::swarm_set_availability,
            $crate::commands::swarm::swarm_autoscale_rules,
            $crate::commands::swarm::swarm_set_autoscale,
            $crate::commands::swarm::swarm_autoscale_off,
            $crate::commands::swarm::swarm_autoscale_history,
            $crate::commands::swarm::swarm_objects,
            $crate::commands::swarm::swarm_create_object,
            $crate::commands::swarm::swarm_remove_object,
            $crate::commands::swarm::swarm_join,
            $crate::commands::swarm::swarm_join_tokens,
            $crate::commands::settings::get_settings,
            $crate::commands::settings::validate_settings,
            $crate::commands::settings::save_settings,
            $crate::commands::troubleshoot::read_log,
            $crate::commands::troubleshoot::clean_up,
            $crate::commands::troubleshoot::create_diagnostics,
            $crate::commands::troubleshoot::factory_reset,
        ]
    };
}
