//! One lesson being run, step by step: a shell asks for the next step's view (text, docker
//! command, files), runs it, shows the report (output and checked claims), and finishes, which
//! removes everything the lesson made; a run left half-way must be finished too.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_core::{ApiError, ErrorCode};
use serde::Serialize;

use super::base_image::{self, BaseSource, BASE_IMAGE};
use super::checks::{self, CheckResult, Seen};
use super::cleanup::{clean_up, CleanupReport};
use super::command::docker_command;
use super::model::{Lesson, Op, Param, Step, Text};
use super::ops::{perform, Ctx, Outcome};
use super::template::{expand, fill, placeholders, strings};
use crate::transport::ToApi;
use crate::Berth;

/// A parameter as a shell asks for it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamView {
    pub name: String,
    pub help: Text,
    pub default: Option<String>,
    pub optional: bool,
    pub secret: bool,
}

impl From<&Param> for ParamView {
    fn from(p: &Param) -> Self {
        ParamView {
            name: p.name.clone(),
            help: p.help.clone(),
            default: p.default.clone(),
            optional: p.optional,
            secret: p.secret,
        }
    }
}

/// A lesson as the list shows it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LessonSummary {
    pub id: String,
    pub title: Text,
    pub summary: Text,
    pub steps: usize,
    pub params: Vec<ParamView>,
}

impl From<&Lesson> for LessonSummary {
    fn from(l: &Lesson) -> Self {
        LessonSummary {
            id: l.id.clone(),
            title: l.title.clone(),
            summary: l.summary.clone(),
            steps: l.steps.len(),
            params: l.params.iter().map(ParamView::from).collect(),
        }
    }
}

/// A file a step writes (a Dockerfile, a compose file), shown beside its command.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileView {
    pub name: String,
    pub content: String,
}

/// The step about to run.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    /// From 0.
    pub index: usize,
    pub total: usize,
    pub title: Text,
    pub what: Text,
    pub why: Text,
    /// The equivalent `docker` command (secrets masked).
    pub command: String,
    pub files: Vec<FileView>,
    /// The step makes its point by failing.
    pub expect_failure: bool,
    /// Parameters it needs that were not given: it will be skipped.
    pub missing: Vec<String>,
}

/// What running a step did.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub index: usize,
    pub command: String,
    pub output: String,
    /// The exit status of what the step ran (`run` to completion, `exec`).
    pub status: Option<i64>,
    /// The engine's refusal: expected for a step that makes its point by failing.
    pub error: Option<berth_core::ApiError>,
    pub checks: Vec<CheckResult>,
    pub skipped: bool,
    /// It did what it said and every claim held.
    pub passed: bool,
}

/// How to start a lesson.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Values of the lesson's parameters (`registry`, ...).
    pub params: BTreeMap<String, String>,
    /// Allow pulling busybox from Docker Hub when no busybox is at hand.
    pub allow_pull: bool,
}

/// A lesson in progress on the user's engine. Call [`LessonRun::finish`] however it ends: a run
/// dropped without it leaves its labelled things until the lesson starts again or
/// [`super::clean_up`] runs (`berth learn clean`).
pub struct LessonRun {
    lesson: Lesson,
    ctx: Ctx,
    /// Placeholder values for running.
    values: BTreeMap<String, String>,
    /// Placeholder values for showing (secrets masked).
    shown: BTreeMap<String, String>,
    next: usize,
    base: BaseSource,
    leftovers: CleanupReport,
}

impl std::fmt::Debug for LessonRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LessonRun")
            .field("lesson", &self.lesson.id)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// The host folder of `lesson` (inside Berth's data folder, which the engine's VM shares).
pub(crate) fn workdir(berth: &Berth, lesson: &str) -> PathBuf {
    berth.paths().data_dir.join("learn").join(lesson)
}

fn param_values(
    lesson: &Lesson,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ApiError> {
    if let Some(unknown) = given
        .keys()
        .find(|k| !lesson.params.iter().any(|p| &p.name == *k))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!("the lesson {} has no parameter {unknown:?}", lesson.id),
        ));
    }
    let mut values = BTreeMap::new();
    for p in &lesson.params {
        let env = format!("BERTH_LEARN_{}", p.name.to_uppercase());
        let value = given
            .get(&p.name)
            .cloned()
            .or_else(|| std::env::var(&env).ok().filter(|v| !v.is_empty()))
            .or_else(|| p.default.clone())
            .or_else(|| p.optional.then(String::new));
        let Some(value) = value else {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!(
                    "the lesson {} needs {} (--set {}=VALUE or {env}): {}",
                    lesson.id, p.name, p.name, p.help.en
                ),
            ));
        };
        values.insert(p.name.clone(), value);
    }
    Ok(values)
}

impl LessonRun {
    /// Checks the parameters, removes what an earlier run of the lesson left behind, makes the
    /// lesson's folder and image.
    pub async fn start(
        berth: &Berth,
        lesson: Lesson,
        options: StartOptions,
    ) -> Result<LessonRun, ApiError> {
        let params = param_values(&lesson, &options.params)?;
        let engine = berth.engine().await?;
        let leftovers = clean_up(&engine, Some(&lesson.id)).await;
        let dir = workdir(berth, &lesson.id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| super::ops::host_io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| super::ops::host_io(&dir, e))?;
        let base = base_image::ensure(&engine, options.allow_pull).await?;
        let mut values = params.clone();
        values.insert("image".into(), BASE_IMAGE.into());
        values.insert("workdir".into(), dir.display().to_string());
        let mut shown = values.clone();
        for p in lesson.params.iter().filter(|p| p.secret) {
            shown.insert(p.name.clone(), "********".into());
        }
        Ok(LessonRun {
            ctx: Ctx {
                engine,
                lesson: lesson.id.clone(),
                workdir: dir,
                auth: None,
                projects: BTreeMap::new(),
            },
            lesson,
            values,
            shown,
            next: 0,
            base,
            leftovers,
        })
    }

    pub fn lesson(&self) -> &Lesson {
        &self.lesson
    }

    /// Where the lesson image came from.
    pub fn base_source(&self) -> BaseSource {
        self.base
    }

    /// What an earlier, interrupted run of this lesson had left (removed at start).
    pub fn leftovers(&self) -> &CleanupReport {
        &self.leftovers
    }

    pub fn is_done(&self) -> bool {
        self.next >= self.lesson.steps.len()
    }

    fn missing(&self, step: &Step) -> Vec<String> {
        step.needs
            .iter()
            .filter(|n| self.values.get(*n).is_none_or(|v| v.is_empty()))
            .cloned()
            .collect()
    }

    /// How a step's command reads, `{ip:NAME}` shown as the docker command that finds it (on
    /// the default bridge, as [`LessonRun::ip_of`] prefers).
    fn command(&self, op: &Op) -> String {
        let mut shown = self.shown.clone();
        for p in strings(op).iter().flat_map(|s| placeholders(s)) {
            if let Some(name) = p.strip_prefix("ip:") {
                let find = format!(
                    "$(docker inspect -f '{{{{.NetworkSettings.Networks.bridge.IPAddress}}}}' {name})"
                );
                shown.insert(p.to_string(), find);
            }
        }
        fill(op, &shown).map_or_else(|unknown| format!("({unknown}?)"), |op| docker_command(&op))
    }

    /// A lesson text with its placeholders filled in (secrets masked).
    fn shown_text(&self, t: &Text) -> Text {
        let show = |s: &str| expand(s, &self.shown).unwrap_or_else(|_| s.to_string());
        Text::new(show(&t.en), show(&t.ja))
    }

    /// The next step, or `None` when the lesson is over.
    pub fn next_step(&self) -> Option<StepView> {
        let step = self.lesson.steps.get(self.next)?;
        let files = match &step.op {
            Op::Build {
                dockerfile, files, ..
            } => std::iter::once(("Dockerfile".to_string(), dockerfile.clone()))
                .chain(files.iter().map(|(n, c)| (n.clone(), c.clone())))
                .collect(),
            Op::ComposeUp { file, .. } => vec![("compose.yaml".to_string(), file.clone())],
            _ => Vec::new(),
        };
        Some(StepView {
            index: self.next,
            total: self.lesson.steps.len(),
            title: self.shown_text(&step.title),
            what: self.shown_text(&step.what),
            why: self.shown_text(&step.why),
            command: self.command(&step.op),
            files: files
                .into_iter()
                .map(|(name, content)| FileView {
                    content: expand(&content, &self.shown).unwrap_or(content),
                    name,
                })
                .collect(),
            expect_failure: step.expect_failure,
            missing: self.missing(step),
        })
    }

    /// The values for `step`: the lesson's, and the IP address of every `{ip:NAME}`.
    async fn values_for(&self, step: &Step) -> Result<BTreeMap<String, String>, ApiError> {
        let mut values = self.values.clone();
        let mut all = strings(&step.op);
        for c in &step.checks {
            all.extend(strings(&c.probe));
        }
        for p in all.iter().flat_map(|s| placeholders(s)) {
            if let Some(name) = p.strip_prefix("ip:") {
                values.insert(p.to_string(), self.ip_of(name).await?);
            }
        }
        Ok(values)
    }

    async fn ip_of(&self, name: &str) -> Result<String, ApiError> {
        let info = self.ctx.engine.inspect_container(name).await.to_api()?;
        let networks = info
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let bridge = networks.get("bridge").and_then(|e| e.ip_address.clone());
        bridge
            .into_iter()
            .chain(networks.into_values().filter_map(|e| e.ip_address))
            .find(|ip| !ip.is_empty())
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("{name} has no IP address")))
    }

    /// Runs the next step and checks its claims; `None` when the lesson is over.
    pub async fn run_next(&mut self) -> Option<StepReport> {
        let index = self.next;
        let step = self.lesson.steps.get(index)?.clone();
        self.next += 1;
        let command = self.command(&step.op);
        let mut report = StepReport {
            index,
            command,
            output: String::new(),
            status: None,
            error: None,
            checks: Vec::new(),
            skipped: false,
            passed: false,
        };
        if !self.missing(&step).is_empty() {
            report.skipped = true;
            report.passed = true;
            return Some(report);
        }
        let values = match self.values_for(&step).await {
            Ok(v) => v,
            Err(e) => {
                report.error = Some(e);
                return Some(report);
            }
        };
        let filled = fill(&step.op, &values).map_err(|unknown| {
            ApiError::new(
                ErrorCode::Internal,
                format!("unknown placeholder {{{unknown}}}"),
            )
        });
        let result = match filled {
            Ok(op) => perform(&mut self.ctx, &op).await,
            Err(e) => Err(e),
        };
        let outcome = match (result, step.expect_failure) {
            (Ok(outcome), false) => outcome,
            (Err(e), true) => {
                // The refusal is the step's point: checks read it, the report carries it as
                // the error (not twice, as output too).
                let outcome = Outcome::text(e.message.clone());
                report.error = Some(e);
                outcome
            }
            (Ok(outcome), true) => {
                report.output = outcome.output;
                report.error = Some(ApiError::new(
                    ErrorCode::Internal,
                    "the step was meant to fail, and it did not",
                ));
                return Some(report);
            }
            (Err(e), false) => {
                report.error = Some(e);
                return Some(report);
            }
        };
        let seen = Seen {
            outcome: &outcome,
            error: report.error.as_ref(),
        };
        for check in &step.checks {
            let result = match fill(&check.probe, &values) {
                Ok(probe) => {
                    let check = super::model::Check {
                        probe,
                        claim: check.claim.as_ref().map(|c| self.shown_text(c)),
                        ..check.clone()
                    };
                    checks::run(&self.ctx, &check, &seen).await
                }
                Err(unknown) => CheckResult {
                    claim: check.claim.clone().unwrap_or_default(),
                    passed: false,
                    detail: Some(format!("unknown placeholder {{{unknown}}}")),
                },
            };
            report.checks.push(result);
        }
        report.passed = report.checks.iter().all(|c| c.passed);
        if report.error.is_none() {
            report.output = outcome.output;
        }
        report.status = outcome.status;
        Some(report)
    }

    /// Removes everything the lesson made (also when it stopped half-way) and its folder.
    pub async fn finish(self) -> CleanupReport {
        let mut report = clean_up(&self.ctx.engine, Some(&self.lesson.id)).await;
        if let Err(e) = std::fs::remove_dir_all(&self.ctx.workdir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                report
                    .problems
                    .push(format!("{}: {e}", self.ctx.workdir.display()));
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson_with_params() -> Lesson {
        let text = r#"
title = { en = "Registry", ja = "レジストリ" }
summary = { en = "Push.", ja = "プッシュします。" }

[[params]]
name = "registry"
help = { en = "host:port", ja = "ホスト:ポート" }

[[params]]
name = "password"
help = { en = "the password", ja = "パスワード" }
secret = true
optional = true

[[steps]]
title = { en = "Tag", ja = "タグ付け" }
what = { en = "Tags it.", ja = "タグを付けます。" }
why = { en = "To push it.", ja = "プッシュするためです。" }
op = "tag"
source = "{image}"
target = "{registry}/berth-learn/hello:v1"
"#;
        super::super::catalog::parse("09-registry.toml", text).unwrap()
    }

    /// A dashboard keeps a run in its state and drives it from async commands on any thread.
    #[test]
    fn a_run_and_its_steps_can_move_between_threads() {
        fn is_send<T: Send>(_: &T) {}
        #[allow(dead_code)]
        fn uses(mut run: LessonRun) {
            is_send(&run.next_step());
            is_send(&run.run_next());
            is_send(&run.finish());
        }
    }

    #[test]
    fn parameters_come_from_the_caller_then_the_environment_then_defaults() {
        let lesson = lesson_with_params();
        let given = BTreeMap::from([("registry".to_string(), "127.0.0.1:5000".to_string())]);
        let values = param_values(&lesson, &given).unwrap();
        assert_eq!(values["registry"], "127.0.0.1:5000");
        // Optional and not given (BERTH_LEARN_PASSWORD is not set in unit tests).
        if std::env::var("BERTH_LEARN_PASSWORD").is_err() {
            assert_eq!(values["password"], "");
        }
        let missing = param_values(&lesson, &BTreeMap::new()).unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidInput);
        assert!(
            missing.message.contains("--set registry=VALUE"),
            "{}",
            missing.message
        );
        let unknown = BTreeMap::from([("colour".to_string(), "red".to_string())]);
        assert!(param_values(&lesson, &unknown)
            .unwrap_err()
            .message
            .contains("colour"));
    }
}
