//! Berth's own words around a lesson, in English and Japanese: the claim a check makes when the
//! lesson does not word it, the labels a shell prints, and which language to use.
//!
//! The language is the one Berth's other words are in ([`crate::language`]).

use berth_core::Settings;

use crate::language::Locale;

use super::model::{Lang, Probe, Text};

/// The language lessons are shown in: `app.language`, or the system's for `system`.
pub fn language(settings: &Settings) -> Lang {
    match crate::language::of(settings) {
        Locale::Ja => Lang::Ja,
        Locale::En => Lang::En,
    }
}

/// The claim of a check the lesson did not word, from what it probes.
pub fn claim(probe: &Probe) -> Text {
    match probe {
        Probe::State { container, is } => Text::new(
            format!("{container} is {is}"),
            format!("{container} の状態は {is}"),
        ),
        Probe::ExitCode { container, is } => Text::new(
            format!("{container} exited with code {is}"),
            format!("{container} は終了コード {is} で終了した"),
        ),
        Probe::Output {
            contains,
            lacks,
            count,
        } => output_claim(contains.as_deref(), lacks.as_deref(), *count),
        Probe::Logs {
            container,
            contains,
            count,
        } => match count {
            Some(n) => Text::new(
                format!("the log of {container} shows {contains:?} {n} times"),
                format!("{container} のログに {contains:?} が {n} 回出る"),
            ),
            None => Text::new(
                format!("the log of {container} shows {contains:?}"),
                format!("{container} のログに {contains:?} が出る"),
            ),
        },
        Probe::Status { is, not } => match (is, not) {
            (Some(code), _) => Text::new(
                format!("the command exited with status {code}"),
                format!("コマンドは終了ステータス {code} で終わった"),
            ),
            (None, Some(code)) => Text::new(
                format!("the command did not exit with status {code}"),
                format!("コマンドの終了ステータスは {code} 以外"),
            ),
            (None, None) => Text::new("the command ran", "コマンドが実行された"),
        },
        Probe::Error { code } => Text::new(
            format!("the engine refused it: {code}"),
            format!("エンジンが拒否した: {code}"),
        ),
        Probe::Container { name, exists } => exists_claim("container", "コンテナ", name, *exists),
        Probe::Image { image, exists } => exists_claim("image", "イメージ", image, *exists),
        Probe::Volume { name, exists } => exists_claim("volume", "ボリューム", name, *exists),
        Probe::Network { name, exists } => exists_claim("network", "ネットワーク", name, *exists),
        Probe::SameImage { image, same_as } => Text::new(
            format!("{image} and {same_as} are the same image"),
            format!("{image} と {same_as} は同じイメージ"),
        ),
        Probe::Layers { image, added } => Text::new(
            format!("{image} has {added} more layers than its base image"),
            format!("{image} のレイヤーはベースイメージより {added} 個多い"),
        ),
        Probe::Health { container, is } => Text::new(
            format!("{container} is {is}"),
            format!("{container} のヘルスチェックは {is}"),
        ),
        Probe::StartedAfter { container, after } => Text::new(
            format!("{container} started only after {after} was ready"),
            format!("{container} は {after} の準備ができてから起動した"),
        ),
        Probe::Replicas { service, running } => Text::new(
            format!("{service} has {running} running task(s)"),
            format!("{service} のタスクが {running} 個動いている"),
        ),
        Probe::Service { name, exists } => exists_claim("service", "サービス", name, *exists),
        Probe::SwarmLeft => Text::new(
            "the swarm the lesson made is gone (a swarm that was there before stays)",
            "レッスンで作った Swarm はなくなった（元からあった Swarm はそのまま）",
        ),
        Probe::Swarm { active: true } => {
            Text::new("the engine is a swarm node", "エンジンは Swarm のノード")
        }
        Probe::Swarm { active: false } => Text::new(
            "the engine is not in a swarm",
            "エンジンは Swarm に参加していない",
        ),
        Probe::HostFile {
            path,
            contains,
            exists,
        } => match (exists, contains) {
            (false, _) => Text::new(
                format!("{path} is not on the host"),
                format!("ホストに {path} はない"),
            ),
            (true, Some(text)) => Text::new(
                format!("{path} on the host contains {text:?}"),
                format!("ホストの {path} に {text:?} が書かれている"),
            ),
            (true, None) => Text::new(
                format!("{path} is on the host"),
                format!("ホストに {path} がある"),
            ),
        },
    }
}

fn output_claim(contains: Option<&str>, lacks: Option<&str>, count: Option<usize>) -> Text {
    match (contains, lacks, count) {
        (Some(text), _, Some(n)) => Text::new(
            format!("the output shows {text:?} {n} times"),
            format!("出力に {text:?} が {n} 回出る"),
        ),
        (Some(text), None, None) => Text::new(
            format!("the output shows {text:?}"),
            format!("出力に {text:?} が出る"),
        ),
        (Some(text), Some(not), None) => Text::new(
            format!("the output shows {text:?} and not {not:?}"),
            format!("出力に {text:?} が出て、{not:?} は出ない"),
        ),
        (None, Some(not), _) => Text::new(
            format!("the output does not show {not:?}"),
            format!("出力に {not:?} は出ない"),
        ),
        (None, None, _) => Text::new("the step printed its output", "ステップの出力が表示された"),
    }
}

fn exists_claim(kind: &str, kind_ja: &str, name: &str, exists: bool) -> Text {
    if exists {
        Text::new(
            format!("the {kind} {name} exists"),
            format!("{kind_ja} {name} が存在する"),
        )
    } else {
        Text::new(
            format!("the {kind} {name} is gone"),
            format!("{kind_ja} {name} は存在しない"),
        )
    }
}

/// The words a shell (the CLI, the dashboard) puts around a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Label {
    What,
    Why,
    Command,
    PressEnter,
    Passed,
    Failed,
    Skipped,
    BaseImage,
    CleaningUp,
    Interrupted,
    Done,
    LessonFailed,
    Removed,
    Steps,
    ExitStatus,
}

impl Label {
    pub const ALL: [Label; 15] = [
        Label::What,
        Label::Why,
        Label::Command,
        Label::PressEnter,
        Label::Passed,
        Label::Failed,
        Label::Skipped,
        Label::BaseImage,
        Label::CleaningUp,
        Label::Interrupted,
        Label::Done,
        Label::LessonFailed,
        Label::Removed,
        Label::Steps,
        Label::ExitStatus,
    ];

    pub fn text(self) -> Text {
        let (en, ja) = match self {
            Label::What => ("What", "内容"),
            Label::Why => ("Why", "理由"),
            Label::Command => ("The docker command", "docker コマンド"),
            Label::PressEnter => (
                "Press Enter to run this step (Ctrl-C to stop and clean up)",
                "Enter キーでこのステップを実行します（Ctrl-C で中断して後片付け）",
            ),
            Label::Passed => ("passed", "成功"),
            Label::Failed => ("failed", "失敗"),
            Label::Skipped => (
                "skipped: this step needs",
                "スキップ: このステップに必要な値がありません:",
            ),
            Label::BaseImage => ("Lesson image", "レッスン用イメージ"),
            Label::CleaningUp => (
                "Cleaning up what the lesson made",
                "レッスンで作ったものを削除しています",
            ),
            Label::Interrupted => ("Interrupted", "中断しました"),
            Label::Done => (
                "Lesson complete: every claim checked out",
                "レッスン完了: すべての確認に成功しました",
            ),
            Label::LessonFailed => (
                "The lesson stopped at a step that did not check out",
                "確認に失敗したステップでレッスンを終了しました",
            ),
            Label::Removed => ("removed", "削除"),
            Label::Steps => ("steps", "ステップ"),
            Label::ExitStatus => ("exit status", "終了ステータス"),
        };
        Text::new(en, ja)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_japanese() {
        for label in Label::ALL {
            super::super::validate::text(&label.text(), &format!("{label:?}")).unwrap();
        }
    }
}
