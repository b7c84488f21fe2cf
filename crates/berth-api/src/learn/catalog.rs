//! Reading lesson files: the ones built into Berth (every `lessons/*.toml`, listed by build.rs)
//! or a folder of them. A file that cannot be used is an error naming the file and the field.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::model::{Check, Lesson, Op, Param, Probe, Step, Text};
use super::validate;

// `LESSON_FILES: &[(&str, &str)]`: (file name, text) of every lesson, in file-name order.
include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

/// A lesson file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LessonError {
    /// Not TOML, or not a lesson's shape; `field` is the dotted path (`steps[2].op`).
    #[error("{file}: {field}: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
    },
    #[error("{file}: cannot read it: {message}")]
    Unreadable { file: String, message: String },
}

impl LessonError {
    pub(crate) fn invalid(file: &str, field: &str, message: impl Into<String>) -> LessonError {
        LessonError::Invalid {
            file: file.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// The lessons built into Berth, in order.
pub fn builtin() -> Result<Vec<Lesson>, LessonError> {
    LESSON_FILES
        .iter()
        .map(|(file, text)| parse(file, text))
        .collect()
}

/// Every `*.toml` lesson in `dir`, in file-name order.
pub fn from_dir(dir: &Path) -> Result<Vec<Lesson>, LessonError> {
    let unreadable = |e: std::io::Error| LessonError::Unreadable {
        file: dir.display().to_string(),
        message: e.to_string(),
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(path).map_err(|e| LessonError::Unreadable {
                file: name.clone(),
                message: e.to_string(),
            })?;
            parse(&name, &text)
        })
        .collect()
}

/// The id a file name gives: `03-build.toml` -> `build`.
fn lesson_id(file: &str) -> Result<String, LessonError> {
    let bad = || {
        LessonError::invalid(
            file,
            "(file name)",
            "a lesson file is named NN-id.toml (two digits, a dash, lower-case letters, digits and dashes)",
        )
    };
    let stem = file.strip_suffix(".toml").ok_or_else(bad)?;
    let (number, id) = stem.split_once('-').ok_or_else(bad)?;
    let number_ok = number.len() == 2 && number.bytes().all(|b| b.is_ascii_digit());
    let id_ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if number_ok && id_ok {
        Ok(id.to_string())
    } else {
        Err(bad())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLesson {
    title: Text,
    summary: Text,
    #[serde(default)]
    params: Vec<Param>,
    steps: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    title: Text,
    what: Text,
    why: Text,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    needs: Vec<String>,
    #[serde(default)]
    check: Vec<toml::Table>,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Expect {
    #[default]
    Success,
    Failure,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    #[serde(default)]
    claim: Option<Text>,
    #[serde(default)]
    timeout: Option<u64>,
}

const STEP_KEYS: [&str; 6] = ["title", "what", "why", "expect", "needs", "check"];
const CHECK_KEYS: [&str; 2] = ["claim", "timeout"];

/// Parses and checks one lesson file.
pub fn parse(file: &str, text: &str) -> Result<Lesson, LessonError> {
    let id = lesson_id(file)?;
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| LessonError::invalid(file, "(syntax)", e.message().to_string()))?;
    let raw: RawLesson = typed(file, "", table)?;
    let steps = raw
        .steps
        .into_iter()
        .enumerate()
        .map(|(i, t)| parse_step(file, &format!("steps[{i}]"), t))
        .collect::<Result<Vec<_>, _>>()?;
    let lesson = Lesson {
        id,
        file: file.to_string(),
        title: raw.title,
        summary: raw.summary,
        params: raw.params,
        steps,
    };
    validate::lesson(&lesson)?;
    Ok(lesson)
}

fn parse_step(file: &str, at: &str, table: toml::Table) -> Result<Step, LessonError> {
    let (common, rest) = split(table, &STEP_KEYS);
    let raw: RawStep = typed(file, at, common)?;
    if !rest.contains_key("op") {
        return Err(LessonError::invalid(file, &format!("{at}.op"), "missing"));
    }
    let op: Op = typed(file, at, rest)?;
    let checks = raw
        .check
        .into_iter()
        .enumerate()
        .map(|(i, t)| parse_check(file, &format!("{at}.check[{i}]"), t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Step {
        title: raw.title,
        what: raw.what,
        why: raw.why,
        op,
        expect_failure: raw.expect == Expect::Failure,
        needs: raw.needs,
        checks,
    })
}

fn parse_check(file: &str, at: &str, table: toml::Table) -> Result<Check, LessonError> {
    let (common, rest) = split(table, &CHECK_KEYS);
    let raw: RawCheck = typed(file, at, common)?;
    if !rest.contains_key("kind") {
        return Err(LessonError::invalid(file, &format!("{at}.kind"), "missing"));
    }
    let probe: Probe = typed(file, at, rest)?;
    Ok(Check {
        claim: raw.claim,
        probe,
        timeout_secs: raw.timeout,
    })
}

/// Splits `table` into the entries named in `keys` and the rest.
fn split(table: toml::Table, keys: &[&str]) -> (toml::Table, toml::Table) {
    table
        .into_iter()
        .partition(|(k, _)| keys.contains(&k.as_str()))
}

/// Deserializes `table` as `T`, naming the field that failed below `at`.
fn typed<T: DeserializeOwned>(file: &str, at: &str, table: toml::Table) -> Result<T, LessonError> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let inner = e.path().to_string();
        let field = match (at.is_empty(), inner == ".") {
            (true, true) => "(top level)".to_string(),
            (true, false) => inner,
            (false, true) => at.to_string(),
            (false, false) => format!("{at}.{inner}"),
        };
        LessonError::invalid(file, &field, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
title = { en = "Hello", ja = "こんにちは" }
summary = { en = "A test lesson.", ja = "テスト用のレッスン。" }

[[steps]]
title = { en = "Run", ja = "実行" }
what = { en = "Runs a container.", ja = "コンテナを実行します。" }
why = { en = "To see it.", ja = "動きを見るためです。" }
op = "run"
name = "learn-hello"
image = "{image}"
cmd = ["echo", "hi"]
wait = true
rm = true

[[steps.check]]
kind = "output"
contains = "hi"
"#;

    fn error_of(file: &str, text: &str) -> (String, String) {
        match parse(file, text).unwrap_err() {
            LessonError::Invalid { field, message, .. } => (field, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_minimal_lesson_parses() {
        let lesson = parse("07-hello.toml", MINIMAL).unwrap();
        assert_eq!(lesson.id, "hello");
        assert_eq!(lesson.steps.len(), 1);
        let step = &lesson.steps[0];
        assert!(matches!(&step.op, Op::Run(c) if c.wait && c.rm && c.cmd == ["echo", "hi"]));
        assert!(matches!(
            &step.checks[0].probe,
            Probe::Output { contains: Some(t), .. } if t == "hi"
        ));
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let (field, message) = error_of("07-hello.toml", &MINIMAL.replace("image = ", "imag = "));
        assert_eq!(field, "steps[0]", "{message}");
        assert!(message.contains("unknown field `imag`"), "{message}");

        let (field, message) = error_of("07-hello.toml", &MINIMAL.replace("\"run\"", "\"runn\""));
        assert_eq!(field, "steps[0].op", "{message}");
        assert!(message.contains("runn"), "{message}");

        let (field, message) = error_of(
            "07-hello.toml",
            &MINIMAL.replace("ja = \"実行\"", "jp = \"実行\""),
        );
        assert_eq!(field, "steps[0].title.jp", "{message}");

        let (field, message) = error_of(
            "07-hello.toml",
            &MINIMAL.replace("kind = \"output\"", "kind = \"outptu\""),
        );
        assert_eq!(field, "steps[0].check[0].kind", "{message}");

        let (field, _) = error_of("07-hello.toml", "title = [");
        assert_eq!(field, "(syntax)");
        let err = parse("07-hello.toml", "title = [").unwrap_err().to_string();
        assert!(err.starts_with("07-hello.toml: "), "{err}");
    }

    #[test]
    fn a_missing_op_or_field_is_named() {
        let (field, _) = error_of("07-hello.toml", &MINIMAL.replace("op = \"run\"", ""));
        assert_eq!(field, "steps[0].op");
        let (field, message) = error_of("07-hello.toml", &MINIMAL.replace("name = ", "# "));
        assert_eq!(field, "steps[0]");
        assert!(message.contains("missing field `name`"), "{message}");
    }

    #[test]
    fn file_names_give_ids_and_order() {
        assert_eq!(lesson_id("01-images.toml").unwrap(), "images");
        assert_eq!(lesson_id("10-two-words.toml").unwrap(), "two-words");
        for bad in [
            "images.toml",
            "1-images.toml",
            "01-Images.toml",
            "01-.toml",
            "01-a.yaml",
        ] {
            assert!(lesson_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_folder_of_lessons_loads_in_order_and_names_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("02-second.toml"), MINIMAL).unwrap();
        std::fs::write(dir.path().join("01-first.toml"), MINIMAL).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a lesson").unwrap();
        let ids: Vec<String> = from_dir(dir.path())
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(ids, ["first", "second"]);
        std::fs::write(dir.path().join("03-bad.toml"), "steps = 3").unwrap();
        let err = from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("03-bad.toml: "), "{err}");
    }
}
