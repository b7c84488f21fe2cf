//! The rules a lesson keeps beyond its shape: every text in English and Japanese, known
//! placeholders and parameters, and names that cannot be the user's (`learn-...` objects,
//! `berth-learn/...` images, host files only under the lesson's own folder).

use super::catalog::LessonError;
use super::model::{Lesson, MountDef, Op, Step, Text};
use super::template::{placeholders, strings};

/// Placeholders every lesson has, beside its parameters (and `ip:CONTAINER`).
pub(crate) const BUILTIN_PLACEHOLDERS: [&str; 2] = ["image", "workdir"];

/// The prefix of every container, volume, network, service and compose project a lesson makes.
pub const NAME_PREFIX: &str = "learn-";
/// What every image reference a lesson makes contains.
pub const IMAGE_REPO: &str = "berth-learn/";

pub(crate) fn lesson(l: &Lesson) -> Result<(), LessonError> {
    let bad = |field: &str, message: String| LessonError::invalid(&l.file, field, message);
    text(&l.title, "title").map_err(|m| bad("title", m))?;
    text(&l.summary, "summary").map_err(|m| bad("summary", m))?;
    if l.steps.is_empty() {
        return Err(bad("steps", "a lesson needs at least one step".into()));
    }
    for (i, p) in l.params.iter().enumerate() {
        let at = format!("params[{i}]");
        let name_ok = !p.name.is_empty()
            && p.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && !BUILTIN_PLACEHOLDERS.contains(&p.name.as_str())
            && p.name != "ip";
        if !name_ok {
            return Err(bad(
                &format!("{at}.name"),
                format!(
                    "{:?} must be lower-case letters and _, and not image, workdir or ip",
                    p.name
                ),
            ));
        }
        if l.params[..i].iter().any(|q| q.name == p.name) {
            return Err(bad(
                &format!("{at}.name"),
                format!("{:?} is declared twice", p.name),
            ));
        }
        text(&p.help, "help").map_err(|m| bad(&format!("{at}.help"), m))?;
    }
    for (i, s) in l.steps.iter().enumerate() {
        step(l, s).map_err(|(field, m)| bad(&format!("steps[{i}]{field}"), m))?;
    }
    Ok(())
}

/// Both languages present, and the Japanese really Japanese.
pub(crate) fn text(t: &Text, what: &str) -> Result<(), String> {
    if t.en.trim().is_empty() {
        return Err(format!("the {what} has no English text (en)"));
    }
    if t.ja.trim().is_empty() {
        return Err(format!("the {what} has no Japanese text (ja)"));
    }
    if t.ja.trim() == t.en.trim() || !t.ja.chars().any(is_japanese) {
        return Err(format!(
            "the {what}'s Japanese text (ja) is not Japanese: {:?}",
            t.ja
        ));
    }
    Ok(())
}

/// Hiragana, katakana or a CJK ideograph.
fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Problems as (field below the step, message).
fn step(l: &Lesson, s: &Step) -> Result<(), (String, String)> {
    let at = |f: &str| f.to_string();
    for (t, field) in [(&s.title, ".title"), (&s.what, ".what"), (&s.why, ".why")] {
        text(t, &field[1..]).map_err(|m| (at(field), m))?;
    }
    for need in &s.needs {
        if !l.params.iter().any(|p| &p.name == need) {
            return Err((
                at(".needs"),
                format!("{need:?} is not a parameter of this lesson"),
            ));
        }
    }
    let known = |name: &str| {
        BUILTIN_PLACEHOLDERS.contains(&name)
            || name.starts_with("ip:")
            || l.params.iter().any(|p| p.name == name)
    };
    let mut all = strings(&s.op);
    for t in [&s.title, &s.what, &s.why] {
        all.extend([t.en.clone(), t.ja.clone()]);
    }
    for c in &s.checks {
        all.extend(strings(&c.probe));
        all.extend(c.claim.iter().flat_map(|t| [t.en.clone(), t.ja.clone()]));
    }
    for string in &all {
        if let Some(unknown) = placeholders(string).into_iter().find(|p| !known(p)) {
            return Err((at(""), format!("unknown placeholder {{{unknown}}}")));
        }
    }
    operation(&s.op).map_err(|(f, m)| (format!(".{f}"), m))?;
    for (i, c) in s.checks.iter().enumerate() {
        if let Some(claim) = &c.claim {
            text(claim, "claim").map_err(|m| (format!(".check[{i}].claim"), m))?;
        }
        if let super::model::Probe::HostFile { path, .. } = &c.probe {
            in_workdir(path).map_err(|m| (format!(".check[{i}].path"), m))?;
        }
    }
    if s.expect_failure && s.checks.is_empty() {
        return Err((
            at(".check"),
            "a step expected to fail needs a check of how".into(),
        ));
    }
    Ok(())
}

fn operation(op: &Op) -> Result<(), (&'static str, String)> {
    if let Some((field, name)) = op.created_name() {
        if !name.starts_with(NAME_PREFIX) || name.len() == NAME_PREFIX.len() {
            return Err((field, format!("{name:?} must start with {NAME_PREFIX:?}")));
        }
    }
    if let Some((field, image)) = op.created_image() {
        if !image.contains(IMAGE_REPO) {
            return Err((field, format!("{image:?} must be a {IMAGE_REPO}... image")));
        }
    }
    match op {
        Op::Create(c) if c.wait || c.rm => Err((
            "wait",
            "create does not run the container: no wait or rm".into(),
        )),
        Op::Run(c) if c.rm && !c.wait => Err(("rm", "rm needs wait = true".into())),
        Op::Run(c) | Op::Create(c) => c.mounts.iter().try_for_each(|m| match m {
            MountDef::Bind { source, .. } => in_workdir(source).map_err(|e| ("mounts", e)),
            MountDef::Volume { source, .. } if !source.starts_with(NAME_PREFIX) => Err((
                "mounts",
                format!("volume {source:?} must start with {NAME_PREFIX:?}"),
            )),
            _ => Ok(()),
        }),
        Op::WriteFile { path, .. } => in_workdir(path).map_err(|e| ("path", e)),
        Op::Exec { cmd, .. } if cmd.is_empty() => Err(("cmd", "empty command".into())),
        Op::Build { files, .. } if files.keys().any(|f| bad_relative(f)) => Err((
            "files",
            "file names are relative paths inside the build folder".into(),
        )),
        _ => Ok(()),
    }
}

/// Host paths a lesson touches live in its own folder.
fn in_workdir(path: &str) -> Result<(), String> {
    let inside = path == "{workdir}" || path.starts_with("{workdir}/");
    if inside && !path.split('/').any(|c| c == "..") {
        Ok(())
    } else {
        Err(format!("{path:?} must be {{workdir}} or a path below it"))
    }
}

fn bad_relative(f: &str) -> bool {
    f.is_empty() || f.starts_with('/') || f.split('/').any(|c| c == ".." || c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_text_must_be_there_and_japanese() {
        assert!(text(&Text::new("Hello", "こんにちは"), "title").is_ok());
        assert!(text(&Text::new("Hello", "コンテナ"), "title").is_ok());
        assert!(text(&Text::new("Hello", "漢字"), "title").is_ok());
        let missing = text(&Text::new("Hello", " "), "title").unwrap_err();
        assert!(missing.contains("no Japanese"), "{missing}");
        let copied = text(&Text::new("Hello", "Hello"), "title").unwrap_err();
        assert!(copied.contains("not Japanese"), "{copied}");
        assert!(text(&Text::new("", "こんにちは"), "title").is_err());
    }

    #[test]
    fn host_paths_stay_in_the_workdir() {
        assert!(in_workdir("{workdir}/a/b.txt").is_ok());
        assert!(in_workdir("{workdir}").is_ok());
        assert!(in_workdir("/etc/passwd").is_err());
        assert!(in_workdir("{workdir}/../x").is_err());
        assert!(in_workdir("{workdirx}").is_err());
    }

    #[test]
    fn created_names_cannot_be_the_users() {
        let run = |name: &str| {
            Op::Run(super::super::model::ContainerDef {
                name: name.into(),
                image: "{image}".into(),
                ..Default::default()
            })
        };
        assert!(operation(&run("learn-web")).is_ok());
        assert_eq!(operation(&run("web")).unwrap_err().0, "name");
        assert!(operation(&run("learn-")).is_err());
        let tag = |t: &str| Op::Tag {
            source: "{image}".into(),
            target: t.into(),
        };
        assert!(operation(&tag("{registry}/berth-learn/hello:v1")).is_ok());
        assert_eq!(operation(&tag("hello:v1")).unwrap_err().0, "target");
    }
}
