//! Learn: the window lists the lessons, starts one (one at a time, kept here), runs it step by
//! step as `berth learn run` does, and leaves it, which removes everything it made. Texts cross
//! in the language the dashboard speaks now.

use berth_api::language::Locale;
use std::collections::BTreeMap;

use berth_api::learn::{
    self, FileView, Lang, LessonRun, ParamView, StartOptions, StepReport, StepView, Text,
};
use berth_core::{ApiError, ErrorCode};
use serde::Serialize;
use tauri::State;
use tokio::sync::Mutex;

use super::AppState;
use crate::text::ShellLocale;

/// The lesson in progress, if any.
#[derive(Default)]
pub struct LearnState(Mutex<Option<LessonRun>>);

/// How long quitting waits for a lesson's clean-up.
const CLEAN_UP_ON_QUIT: std::time::Duration = std::time::Duration::from_secs(30);

impl LearnState {
    /// Removes what the lesson in progress made, as the app quits. A lesson in the middle of a
    /// step is left to the next start of that lesson (or `berth learn clean`), which removes it
    /// by its label.
    pub async fn clean_up_on_quit(&self) {
        let Some(run) = self.0.try_lock().ok().and_then(|mut run| run.take()) else {
            return;
        };
        let lesson = run.lesson().id.clone();
        if tokio::time::timeout(CLEAN_UP_ON_QUIT, run.finish())
            .await
            .is_err()
        {
            tracing::warn!(%lesson, "cleaning up the lesson on quit took too long");
        }
    }
}

/// A lesson as the list shows it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnLesson {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub steps: usize,
    /// What the lesson asks for before it starts (a registry's address, ...).
    pub params: Vec<LearnParam>,
}

/// A value a lesson asks for.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnParam {
    pub name: String,
    pub help: String,
    pub default: Option<String>,
    pub optional: bool,
    pub secret: bool,
}

fn param_view(p: ParamView, lang: Lang) -> LearnParam {
    LearnParam {
        help: p.help.get(lang).to_string(),
        name: p.name,
        default: p.default,
        optional: p.optional,
        secret: p.secret,
    }
}

/// The step about to run.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnStep {
    pub lesson: String,
    /// From 0.
    pub index: usize,
    pub total: usize,
    pub title: String,
    pub what: String,
    pub why: String,
    /// The equivalent `docker` command.
    pub command: String,
    pub files: Vec<FileView>,
    pub expect_failure: bool,
    /// Parameters it needs that were not given: it will be skipped.
    pub missing: Vec<String>,
}

/// One claim a step made, checked.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnCheck {
    pub claim: String,
    pub passed: bool,
    /// What was seen instead, when it failed.
    pub detail: Option<String>,
}

/// What running a step did.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnReport {
    pub index: usize,
    pub output: String,
    pub status: Option<i64>,
    /// The engine's refusal (expected for a step that makes its point by failing).
    pub error: Option<ApiError>,
    pub checks: Vec<LearnCheck>,
    pub skipped: bool,
    pub passed: bool,
}

/// What leaving a lesson removed.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnLeft {
    pub removed: String,
    pub problems: Vec<String>,
}

fn lang(locale: &ShellLocale) -> Lang {
    match locale.get() {
        Locale::Ja => Lang::Ja,
        Locale::En => Lang::En,
    }
}

fn step_view(lesson: &str, v: StepView, lang: Lang) -> LearnStep {
    let text = |t: &Text| t.get(lang).to_string();
    LearnStep {
        lesson: lesson.to_string(),
        index: v.index,
        total: v.total,
        title: text(&v.title),
        what: text(&v.what),
        why: text(&v.why),
        command: v.command,
        files: v.files,
        expect_failure: v.expect_failure,
        missing: v.missing,
    }
}

fn report_view(r: StepReport, lang: Lang) -> LearnReport {
    LearnReport {
        index: r.index,
        output: r.output,
        status: r.status,
        error: r.error,
        checks: r
            .checks
            .into_iter()
            .map(|c| LearnCheck {
                claim: c.claim.get(lang).to_string(),
                passed: c.passed,
                detail: c.detail,
            })
            .collect(),
        skipped: r.skipped,
        passed: r.passed,
    }
}

fn current_step(run: &LessonRun, lang: Lang) -> Option<LearnStep> {
    run.next_step()
        .map(|v| step_view(&run.lesson().id, v, lang))
}

fn no_lesson() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no lesson is in progress")
}

#[tauri::command]
pub fn learn_lessons(locale: State<'_, ShellLocale>) -> Result<Vec<LearnLesson>, ApiError> {
    let lang = lang(&locale);
    Ok(learn::summaries()?
        .into_iter()
        .map(|s| LearnLesson {
            title: s.title.get(lang).to_string(),
            summary: s.summary.get(lang).to_string(),
            id: s.id,
            steps: s.steps,
            params: s.params.into_iter().map(|p| param_view(p, lang)).collect(),
        })
        .collect())
}

/// Starts lesson `id` with `params` (an empty value: the lesson's default), leaving the one in
/// progress first, and returns its first step.
#[tauri::command]
pub async fn learn_start(
    state: State<'_, AppState>,
    learning: State<'_, LearnState>,
    locale: State<'_, ShellLocale>,
    id: String,
    params: Option<BTreeMap<String, String>>,
) -> Result<Option<LearnStep>, ApiError> {
    let options = StartOptions {
        params: params
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect(),
        ..StartOptions::default()
    };
    let mut current = learning.0.lock().await;
    if let Some(old) = current.take() {
        old.finish().await;
    }
    let lesson = learn::find(&id)?;
    let run = LessonRun::start(state.link.berth(), lesson, options).await?;
    let step = current_step(&run, lang(&locale));
    *current = Some(run);
    Ok(step)
}

/// The step about to run (`None`: the lesson is done).
#[tauri::command]
pub async fn learn_step(
    learning: State<'_, LearnState>,
    locale: State<'_, ShellLocale>,
) -> Result<Option<LearnStep>, ApiError> {
    let current = learning.0.lock().await;
    let run = current.as_ref().ok_or_else(no_lesson)?;
    Ok(current_step(run, lang(&locale)))
}

/// Runs the step about to run and reports what it did and which claims held.
#[tauri::command]
pub async fn learn_run_step(
    learning: State<'_, LearnState>,
    locale: State<'_, ShellLocale>,
) -> Result<LearnReport, ApiError> {
    let mut current = learning.0.lock().await;
    let run = current.as_mut().ok_or_else(no_lesson)?;
    let report = run
        .run_next()
        .await
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "the lesson has no step left"))?;
    Ok(report_view(report, lang(&locale)))
}

/// Ends the lesson in progress, removing everything it made (by its label).
#[tauri::command]
pub async fn learn_leave(
    learning: State<'_, LearnState>,
    locale: State<'_, ShellLocale>,
) -> Result<LearnLeft, ApiError> {
    let run = learning.0.lock().await.take();
    let report = match run {
        Some(run) => run.finish().await,
        None => {
            return Ok(LearnLeft {
                removed: String::new(),
                problems: Vec::new(),
            })
        }
    };
    Ok(LearnLeft {
        removed: report.describe().get(lang(&locale)).to_string(),
        problems: report.problems,
    })
}
