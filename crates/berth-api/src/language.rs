//! Which language Berth's own words are in (the dashboard, the tray, and any front end that
//! asks): the `app.language` setting, where `system` follows the environment's locale the way
//! POSIX orders it (`LC_ALL`, then `LC_MESSAGES`, then `LANG`; an empty one does not count).
//! A locale starting with `ja` is Japanese; anything else, or none, is English.

use berth_core::settings::Language;
use berth_core::Settings;

/// A language Berth has words in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Ja,
}

/// The locale of `settings`, reading the process environment for `system`.
pub fn of(settings: &Settings) -> Locale {
    resolve(settings.app.language, |name| std::env::var(name).ok())
}

/// The locale a choice means, with `env` looking up environment variables.
pub fn resolve(choice: Language, env: impl Fn(&str) -> Option<String>) -> Locale {
    match choice {
        Language::En => Locale::En,
        Language::Ja => Locale::Ja,
        Language::System => system(env),
    }
}

/// The environment's locale for messages.
pub fn system(env: impl Fn(&str) -> Option<String>) -> Locale {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .find_map(|name| env(name).filter(|v| !v.is_empty()));
    match locale {
        Some(l) if l.to_ascii_lowercase().starts_with("ja") => Locale::Ja,
        _ => Locale::En,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn system_follows_the_first_set_locale_variable() {
        assert_eq!(system(env(&[("LANG", "ja_JP.UTF-8")])), Locale::Ja);
        assert_eq!(system(env(&[("LANG", "ja")])), Locale::Ja);
        assert_eq!(system(env(&[("LANG", "en_US.UTF-8")])), Locale::En);
        assert_eq!(system(env(&[("LANG", "C")])), Locale::En);
        assert_eq!(system(env(&[])), Locale::En);
        // LC_ALL overrides LC_MESSAGES, which overrides LANG; an empty one is unset.
        assert_eq!(
            system(env(&[("LC_ALL", "C"), ("LANG", "ja_JP.UTF-8")])),
            Locale::En
        );
        assert_eq!(
            system(env(&[("LC_MESSAGES", "ja_JP.UTF-8"), ("LANG", "C")])),
            Locale::Ja
        );
        assert_eq!(
            system(env(&[("LC_ALL", ""), ("LANG", "ja_JP.UTF-8")])),
            Locale::Ja
        );
    }

    #[test]
    fn a_chosen_language_wins_over_the_system() {
        let japanese = env(&[("LANG", "ja_JP.UTF-8")]);
        assert_eq!(resolve(Language::En, &japanese), Locale::En);
        assert_eq!(resolve(Language::System, &japanese), Locale::Ja);
        assert_eq!(resolve(Language::Ja, env(&[("LANG", "C")])), Locale::Ja);
    }
}
