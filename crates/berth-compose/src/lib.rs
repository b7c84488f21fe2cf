//! Berth's native compose engine: a Compose Specification loader, a planner that compares a
//! project with what the engine runs, and a runner that executes the plan through berth-engine.
//!
//! - [`load`]: files -> [`Project`] (YAML with anchors and `<<`, interpolation, `.env`,
//!   `env_file`, `-f` merging, `extends`, `profiles`, project name). Errors are
//!   [`LoadError`]s naming file, line and attribute.
//! - [`plan::plan_up`]: the pure planner (desired project vs. observed containers).
//! - [`Compose`]: `up`/`down`/`start`/`stop`/`restart`/`ps`/`list_projects`/`run`/`exec` on a
//!   [`berth_engine::Engine`], reporting typed [`Event`]s (what the dashboard shows).
//! - [`cli`]: `berth compose ...` and the docker CLI plugin.
//!
//! Not supported yet (the loader says so, with file and line, rather than ignoring them):
//! `include`, `develop`/watch, `volumes_from`, `gpus` and `deploy.resources.reservations.devices`,
//! `blkio_config`, the `cpu_*`/`cpuset`/`mem_reservation`/`memswap_limit`/`oom_*`/`pids_limit`
//! tunables, `cgroup*`, `runtime`, `storage_opt`, `post_start`/`pre_stop` hooks, `models`,
//! `provider`, environment-based secrets/configs, `build.ssh`/`secrets`/`additional_contexts`,
//! and `dockerfile_inline`. Accepted but not applied: `dns_search`, `dns_opt`, `annotations`,
//! `build.cache_from`/`cache_to`/`tags`/`platforms`, most of `deploy` (only `replicas`,
//! `resources.limits` and `restart_policy` are used), network `priority`/`mac_address`.

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
