//! The words Berth's shell shows outside the dashboard (the tray's menu and tooltip, the native
//! file dialogs' titles) in English and Japanese, and the language they are in now. The
//! dashboard's own words are in `ui/src/lib/i18n`.
//!
//! A new text is a variant here with its English and Japanese: `ja` is an exhaustive match, so a
//! text without Japanese does not compile, and the test below fails on one left in English.

use berth_api::language::Locale;
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    EngineRunning,
    /// `{phase}`: one of the `Phase*` texts.
    EngineStarting,
    EnginePaused,
    EngineStopping,
    EngineStopped,
    /// `{message}`: what went wrong, as the engine link says it.
    EngineError,
    PhaseBootingVm,
    PhaseWaitingForAgent,
    PhaseWaitingForEngine,
    StartEngine,
    StopEngine,
    RestartEngine,
    WakeEngine,
    OpenDashboard,
    SignIn,
    QuitBerth,
    ExportVolume,
    ImportVolume,
    GzipTarball,
}

impl Text {
    /// Every text (the test checks each has Japanese).
    pub const ALL: &'static [Text] = &[
        Text::EngineRunning,
        Text::EngineStarting,
        Text::EnginePaused,
        Text::EngineStopping,
        Text::EngineStopped,
        Text::EngineError,
        Text::PhaseBootingVm,
        Text::PhaseWaitingForAgent,
        Text::PhaseWaitingForEngine,
        Text::StartEngine,
        Text::StopEngine,
        Text::RestartEngine,
        Text::WakeEngine,
        Text::OpenDashboard,
        Text::SignIn,
        Text::QuitBerth,
        Text::ExportVolume,
        Text::ImportVolume,
        Text::GzipTarball,
    ];

    pub fn get(self, locale: Locale) -> &'static str {
        match locale {
            Locale::En => self.en(),
            Locale::Ja => self.ja(),
        }
    }

    fn en(self) -> &'static str {
        match self {
            Text::EngineRunning => "Engine running",
            Text::EngineStarting => "Engine starting ({phase})",
            Text::EnginePaused => "Engine paused (Resource Saver)",
            Text::EngineStopping => "Engine stopping",
            Text::EngineStopped => "Engine stopped",
            Text::EngineError => "Error: {message}",
            Text::PhaseBootingVm => "booting vm",
            Text::PhaseWaitingForAgent => "waiting for agent",
            Text::PhaseWaitingForEngine => "waiting for engine",
            Text::StartEngine => "Start engine",
            Text::StopEngine => "Stop engine",
            Text::RestartEngine => "Restart engine",
            Text::WakeEngine => "Wake engine now",
            Text::OpenDashboard => "Open Dashboard",
            Text::SignIn => "Sign in…",
            Text::QuitBerth => "Quit Berth",
            Text::ExportVolume => "Export volume",
            Text::ImportVolume => "Import volume",
            Text::GzipTarball => "Gzip-compressed tarball",
        }
    }

    fn ja(self) -> &'static str {
        match self {
            Text::EngineRunning => "エンジン実行中",
            Text::EngineStarting => "エンジンを起動しています ({phase})",
            Text::EnginePaused => "エンジン一時停止中 (リソースセーバー)",
            Text::EngineStopping => "エンジンを停止しています",
            Text::EngineStopped => "エンジン停止",
            Text::EngineError => "エラー: {message}",
            Text::PhaseBootingVm => "VM を起動中",
            Text::PhaseWaitingForAgent => "エージェントの応答待ち",
            Text::PhaseWaitingForEngine => "エンジンの応答待ち",
            Text::StartEngine => "エンジンを起動",
            Text::StopEngine => "エンジンを停止",
            Text::RestartEngine => "エンジンを再起動",
            Text::WakeEngine => "エンジンを今すぐ再開",
            Text::OpenDashboard => "ダッシュボードを開く",
            Text::SignIn => "サインイン…",
            Text::QuitBerth => "Berth を終了",
            Text::ExportVolume => "ボリュームをエクスポート",
            Text::ImportVolume => "ボリュームをインポート",
            Text::GzipTarball => "gzip 圧縮の tar アーカイブ",
        }
    }
}

/// The shell's language now: from the settings at start, and again each time they are saved
/// (the tray follows it at once).
pub struct ShellLocale(watch::Sender<Locale>);

impl ShellLocale {
    pub fn new(locale: Locale) -> ShellLocale {
        ShellLocale(watch::Sender::new(locale))
    }

    pub fn get(&self) -> Locale {
        *self.0.borrow()
    }

    pub fn set(&self, locale: Locale) {
        self.0
            .send_if_modified(|current| std::mem::replace(current, locale) != locale);
    }

    pub fn subscribe(&self) -> watch::Receiver<Locale> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(text: &str) -> Vec<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect()
    }

    #[test]
    fn every_text_has_japanese_with_the_same_placeholders() {
        for text in Text::ALL {
            let (en, ja) = (text.get(Locale::En), text.get(Locale::Ja));
            assert!(!ja.trim().is_empty(), "{text:?} has no Japanese");
            assert_ne!(ja, en, "{text:?} is left in English");
            assert_eq!(placeholders(ja), placeholders(en), "{text:?}");
        }
    }

    #[test]
    fn the_shell_locale_tells_only_changes() {
        let shell = ShellLocale::new(Locale::En);
        let mut rx = shell.subscribe();
        shell.set(Locale::En);
        assert!(!rx.has_changed().unwrap());
        shell.set(Locale::Ja);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), Locale::Ja);
        assert_eq!(shell.get(), Locale::Ja);
    }
}
