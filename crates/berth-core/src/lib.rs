//! The ground every other Berth crate stands on: where Berth keeps its files ([`paths`]), what
//! the user chose ([`settings`]), the one engine state machine ([`state`]), the typed events the
//! rest of the app emits ([`event`]), the error codes a UI can branch on ([`error`]) and how
//! what Berth stores is kept private to its user ([`owner_only`]).
//!
//! Nothing here talks to an engine, a VM or a window.

pub mod atomic_file;
pub mod boot;
pub mod error;
pub mod event;
pub mod owner_only;
pub mod paths;
pub mod ports;
pub mod settings;
pub mod state;

pub use error::{ApiError, ErrorCode};
pub use event::BerthEvent;
pub use paths::BerthPaths;
pub use settings::Settings;
pub use state::{EngineState, EngineStateCell, StartPhase};
