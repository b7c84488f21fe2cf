//! Berth's native compose engine: a Compose Specification loader, a planner that compares a
//! project with what the engine runs, and a runner that executes the plan through berth-engine.
//!
//! - [`load`]: files -> [`Project`] (YAML with anchors and `<<`, interpolation, `.env`,
//!   `env_file`, `-f` merging, `include`, `extends`, `profiles`, project name). Errors are
//!   [`LoadError`]s naming file, line and attribute.
//! - [`plan::plan_up`]: the pure planner (desired project vs. observed containers).
//! - [`Compose`]: `up`/`down`/`start`/`stop`/`restart`/`ps`/`list_projects`/`run`/`exec` on a
//!   [`berth_engine::Engine`], reporting typed [`Event`]s (what the dashboard shows).
//! - [`cli`]: `berth compose ...` and the docker CLI plugin.
//!
//! Every service attribute of the Compose Specification's schema is either applied to the
//! container or refused with an error naming file, line and attribute and saying why; the
//! table is in this crate's README.md, and `decode::tests` checks it against the schema.

pub mod config_hash;
pub mod decode;
pub mod docker_credentials;
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
pub use runner::{
    Compose, ContainerInfo, CredentialsFn, DownOptions, Event, ProgressFn, ProjectLog,
    ProjectSummary, ResourceState, Rmi, UpRun,
};
