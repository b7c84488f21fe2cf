//! Berth's native compose engine: a Compose Specification loader, a planner that compares a
//! project with what the engine runs, and a runner that executes the plan over bollard.

pub mod cli;
pub mod decode;
pub mod dotenv;
pub mod error;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod model;
pub mod plan;
pub mod runner;
pub mod yaml;

pub use error::{Error, LoadError, Result};
pub use load::{load, load_sources, normalize_project_name, LoadOptions};
pub use model::{Project, Service};
pub use runner::{Compose, DownOptions, Event, ProgressFn, Rmi, Status, UpRun};
