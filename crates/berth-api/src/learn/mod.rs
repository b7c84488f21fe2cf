//! Learn: the primer's lessons, run for real on the user's engine, in English and Japanese.
//!
//! Lessons are data: one TOML file each in `crates/berth-api/lessons/` (`NN-id.toml`), built
//! in by build.rs, so adding a lesson is adding a file. Each step is one operation from a fixed
//! set ([`Op`]), shown as its `docker` command, performed through berth-engine, and followed by
//! checks of what it claims ([`Probe`]).
//!
//! A shell drives a lesson step by step:
//!
//! ```no_run
//! # async fn f(berth: &berth_api::Berth) -> Result<(), berth_core::ApiError> {
//! use berth_api::learn::{self, LessonRun, StartOptions};
//! let lesson = learn::find("containers")?;
//! let mut run = LessonRun::start(berth, lesson, StartOptions::default()).await?;
//! while let Some(view) = run.next_step() {
//!     println!("{}\n$ {}", view.what.en, view.command);
//!     let report = run.run_next().await.expect("a step was next");
//!     if !report.passed {
//!         break;
//!     }
//! }
//! let removed = run.finish().await; // also after an error or an interruption
//! # Ok(()) }
//! ```
//!
//! Everything a lesson makes is labelled `berth.learn=<lesson>` and removed by [`clean_up`] on
//! that label alone; what a lesson changes or removes must carry the label already. Object names
//! start with `learn-` and images are `berth-learn/...`, so a lesson cannot collide with the
//! user's either. The lesson image is made offline ([`BaseSource`]).

mod base_image;
mod catalog;
mod checks;
mod cleanup;
mod command;
mod model;
mod ops;
mod ops_compose;
mod ops_registry;
mod ops_swarm;
mod run;
mod template;
mod text;
mod validate;

pub use base_image::{BaseSource, BASE_IMAGE, LABEL};
pub use catalog::LessonError;
pub use checks::CheckResult;
pub use cleanup::{clean_up, CleanupReport};
pub use model::{Check, ContainerDef, Lang, Lesson, MountDef, Op, Param, Probe, Step, Text};
pub use run::{FileView, LessonRun, LessonSummary, ParamView, StartOptions, StepReport, StepView};
pub use text::{claim, language, Label};
pub use validate::{IMAGE_REPO, NAME_PREFIX};

use std::path::Path;

use berth_core::{ApiError, ErrorCode};

use crate::Berth;

fn invalid(e: LessonError) -> ApiError {
    ApiError::from_error(ErrorCode::InvalidInput, &e)
}

/// The lessons built into Berth, in order.
pub fn lessons() -> Result<Vec<Lesson>, ApiError> {
    catalog::builtin().map_err(invalid)
}

/// The lessons in a folder of `NN-id.toml` files (for lesson authors).
pub fn lessons_in(dir: &Path) -> Result<Vec<Lesson>, ApiError> {
    catalog::from_dir(dir).map_err(invalid)
}

/// Parses one lesson file's text.
pub fn parse(file_name: &str, text: &str) -> Result<Lesson, LessonError> {
    catalog::parse(file_name, text)
}

/// The built-in lesson `id`.
pub fn find(id: &str) -> Result<Lesson, ApiError> {
    lessons()?.into_iter().find(|l| l.id == id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("there is no lesson {id:?} (berth learn list shows them)"),
        )
    })
}

/// The built-in lessons as a list shows them.
pub fn summaries() -> Result<Vec<LessonSummary>, ApiError> {
    Ok(lessons()?.iter().map(LessonSummary::from).collect())
}

impl Berth {
    /// Removes what `lesson` made (every lesson when `None`), and its host folder.
    pub async fn learn_clean_up(&self, lesson: Option<&str>) -> Result<CleanupReport, ApiError> {
        let engine = self.engine().await?;
        let mut report = clean_up(&engine, lesson).await;
        let dir = match lesson {
            Some(id) => run::workdir(self, id),
            None => self.paths().data_dir.join("learn"),
        };
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                report.problems.push(format!("{}: {e}", dir.display()));
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each built-in lesson with its first step's Japanese `what` emptied, or the English copied
    /// into it, or its operation misspelt, is refused naming the file and the field.
    #[test]
    fn a_lesson_lacking_japanese_or_with_an_unknown_operation_is_refused() {
        let first_ja = regex::Regex::new(r#"(?m)^what\.ja = ".*"$"#).unwrap();
        let first_en = regex::Regex::new(r#"(?m)^what\.en = (".*")$"#).unwrap();
        for (file, text) in catalog::LESSON_FILES {
            let english = &first_en.captures(text).expect("a what.en")[1];
            let cases = [
                (
                    first_ja.replace(text, r#"what.ja = """#).into_owned(),
                    ".what: the what has no Japanese",
                ),
                (
                    first_ja
                        .replace(text, format!("what.ja = {english}"))
                        .into_owned(),
                    ".what: the what's Japanese text (ja) is not Japanese",
                ),
                (
                    text.replacen("op = \"", "op = \"frobnicate_", 1),
                    ".op: unknown variant `frobnicate_",
                ),
            ];
            for (broken, field) in cases {
                let err = parse(file, &broken).unwrap_err().to_string();
                assert!(err.starts_with(&format!("{file}: steps[")), "{err}");
                assert!(err.contains(field), "{file}: {err}");
            }
        }
    }

    #[test]
    fn every_builtin_lesson_loads() {
        let all = lessons().unwrap();
        assert!(!all.is_empty());
        let mut ids: Vec<&str> = all.iter().map(|l| l.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "lesson ids are unique");
    }
}
