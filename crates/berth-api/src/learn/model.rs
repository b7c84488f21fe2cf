//! What a lesson file says: its text in English and Japanese, its parameters, and its steps,
//! each one operation from a fixed set and the checks that prove what the step claims.
//!
//! Strings in operations and checks may hold placeholders, filled in when the step runs:
//! `{image}` (the lesson's busybox image), `{workdir}` (a host folder the lesson may bind),
//! `{NAME}` for a lesson parameter, and `{ip:CONTAINER}` (the container's IP address).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A language the lessons are written in.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ja,
}

/// One text in both languages.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub ja: String,
}

impl Text {
    pub fn new(en: impl Into<String>, ja: impl Into<String>) -> Text {
        Text {
            en: en.into(),
            ja: ja.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Ja => &self.ja,
        }
    }
}

/// One lesson, as read from `lessons/NN-id.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    /// What `berth learn run` takes: the file name without its number and extension.
    pub id: String,
    /// The file it came from (`03-build.toml`), for error messages.
    pub file: String,
    pub title: Text,
    pub summary: Text,
    pub params: Vec<Param>,
    pub steps: Vec<Step>,
}

/// A value the user gives when starting a lesson (`--set registry=HOST:PORT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    pub help: Text,
    /// Used when the user gives none; a parameter without a default is required.
    #[serde(default)]
    pub default: Option<String>,
    /// The lesson runs without it (steps that need it are skipped).
    #[serde(default)]
    pub optional: bool,
    /// Never printed (a password); may also come from `BERTH_LEARN_<NAME>`.
    #[serde(default)]
    pub secret: bool,
}

/// One step: text, one operation, and the checks of its claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub title: Text,
    pub what: Text,
    pub why: Text,
    pub op: Op,
    /// The step makes its point by failing (a push before signing in).
    pub expect_failure: bool,
    /// Parameters the step needs; it is skipped when one of them is empty.
    pub needs: Vec<String>,
    pub checks: Vec<Check>,
}

/// A mount of a container, as `docker run --mount` says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MountDef {
    Volume {
        source: String,
        target: String,
        #[serde(default)]
        read_only: bool,
    },
    Bind {
        source: String,
        target: String,
        #[serde(default)]
        read_only: bool,
    },
    Tmpfs {
        target: String,
    },
}

/// A container as `run` and `create` make it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerDef {
    pub name: String,
    pub image: String,
    /// Replaces the image's CMD when not empty.
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub mounts: Vec<MountDef>,
    /// `bridge` (the default), `none`, `host` or a network's name.
    #[serde(default)]
    pub network: Option<String>,
    /// `run` only: stay attached until it exits and show its output (`docker run` without -d).
    #[serde(default)]
    pub wait: bool,
    /// `run` with `wait` only: remove it once it exited (`--rm`).
    #[serde(default)]
    pub rm: bool,
}

/// The operations a step may perform, each through berth-engine as `docker` would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    Run(ContainerDef),
    Create(ContainerDef),
    Start {
        name: String,
    },
    Stop {
        name: String,
    },
    Restart {
        name: String,
    },
    Pause {
        name: String,
    },
    Unpause {
        name: String,
    },
    Rm {
        name: String,
        #[serde(default)]
        force: bool,
    },
    Logs {
        name: String,
    },
    Exec {
        name: String,
        cmd: Vec<String>,
    },
    /// `docker build -t TAG .` in a folder holding `Dockerfile` and `files`.
    Build {
        tag: String,
        dockerfile: String,
        #[serde(default)]
        files: BTreeMap<String, String>,
    },
    Tag {
        source: String,
        target: String,
    },
    Images {
        reference: String,
    },
    History {
        image: String,
    },
    ImageRm {
        image: String,
    },
    VolumeCreate {
        name: String,
    },
    VolumeRm {
        name: String,
    },
    NetworkCreate {
        name: String,
    },
    NetworkConnect {
        network: String,
        container: String,
    },
    NetworkRm {
        name: String,
    },
    /// Writes a file on the host (`{workdir}/...` only), as a user would with an editor.
    WriteFile {
        path: String,
        content: String,
    },
    /// `docker compose -p PROJECT up -d --wait` of an inline compose file.
    ComposeUp {
        project: String,
        file: String,
    },
    ComposeDown {
        project: String,
        #[serde(default)]
        volumes: bool,
    },
    /// Checks the user name and password with the registry, as `docker login` does; the lesson
    /// keeps them in memory for its own pushes and pulls (nothing is stored).
    Login {
        registry: String,
        username: String,
        password: String,
    },
    Push {
        image: String,
    },
    Pull {
        image: String,
    },
    SwarmInit {
        advertise_addr: String,
    },
    ServiceCreate {
        name: String,
        image: String,
        #[serde(default)]
        cmd: Vec<String>,
        replicas: u64,
    },
    ServiceScale {
        name: String,
        replicas: u64,
    },
    /// Removes one running task's container, so the swarm has something to heal.
    KillTask {
        service: String,
    },
    ServiceRm {
        name: String,
    },
    /// Leaves the swarm only when this lesson made it; a swarm that was there stays.
    SwarmLeave,
}

/// A claim a step makes and how to see that it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The lesson's own words for the claim; generated from `probe` when absent.
    pub claim: Option<Text>,
    pub probe: Probe,
    /// How long the claim may take to become true (seconds); checks of a step's own output
    /// are immediate.
    pub timeout_secs: Option<u64>,
}

fn yes() -> bool {
    true
}

/// What a check looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Probe {
    /// The container's state: `created`, `running`, `paused`, `exited`.
    State {
        container: String,
        is: String,
    },
    /// The exit code of a container that has exited.
    ExitCode {
        container: String,
        is: i64,
    },
    /// The step's own output.
    Output {
        #[serde(default)]
        contains: Option<String>,
        #[serde(default)]
        lacks: Option<String>,
        /// How many times `contains` appears.
        #[serde(default)]
        count: Option<usize>,
    },
    /// A container's log (read again until the deadline).
    Logs {
        container: String,
        contains: String,
        /// How many times `contains` appears.
        #[serde(default)]
        count: Option<usize>,
    },
    /// The exit status of what the step ran (`run` with `wait`, `exec`).
    Status {
        #[serde(default)]
        is: Option<i64>,
        #[serde(default)]
        not: Option<i64>,
    },
    /// The step failed with this error code (`unauthorized`, `not_found`, ...).
    Error {
        code: String,
    },
    Container {
        name: String,
        #[serde(default = "yes")]
        exists: bool,
    },
    Image {
        image: String,
        #[serde(default = "yes")]
        exists: bool,
    },
    /// Two references name one image.
    SameImage {
        image: String,
        same_as: String,
    },
    /// The image has this many layers more than the lesson's base image.
    Layers {
        image: String,
        added: usize,
    },
    Volume {
        name: String,
        #[serde(default = "yes")]
        exists: bool,
    },
    Network {
        name: String,
        #[serde(default = "yes")]
        exists: bool,
    },
    /// A container's health: `healthy`, `unhealthy`, `starting`.
    Health {
        container: String,
        is: String,
    },
    /// `container` started no earlier than `after` became healthy (or started).
    StartedAfter {
        container: String,
        after: String,
    },
    /// This many of the service's tasks run.
    Replicas {
        service: String,
        running: u64,
    },
    Service {
        name: String,
        #[serde(default = "yes")]
        exists: bool,
    },
    Swarm {
        active: bool,
    },
    /// No swarm the lesson made is left (a swarm that was there before stays).
    SwarmLeft,
    /// A file on the host (`{workdir}/...`).
    HostFile {
        path: String,
        #[serde(default)]
        contains: Option<String>,
        #[serde(default = "yes")]
        exists: bool,
    },
}

impl Probe {
    /// Looks at the step's own result, so there is nothing to wait for.
    pub fn is_immediate(&self) -> bool {
        matches!(
            self,
            Probe::Output { .. }
                | Probe::Status { .. }
                | Probe::Error { .. }
                | Probe::Layers { .. }
        )
    }
}

impl Op {
    /// The name this operation gives something new, for the `learn-` rule.
    pub(crate) fn created_name(&self) -> Option<(&'static str, &str)> {
        match self {
            Op::Run(c) | Op::Create(c) => Some(("name", &c.name)),
            Op::VolumeCreate { name } | Op::NetworkCreate { name } => Some(("name", name)),
            Op::ServiceCreate { name, .. } => Some(("name", name)),
            Op::ComposeUp { project, .. } => Some(("project", project)),
            _ => None,
        }
    }

    /// The image reference this operation makes, for the `berth-learn/` rule.
    pub(crate) fn created_image(&self) -> Option<(&'static str, &str)> {
        match self {
            Op::Build { tag, .. } => Some(("tag", tag)),
            Op::Tag { target, .. } => Some(("target", target)),
            _ => None,
        }
    }
}
