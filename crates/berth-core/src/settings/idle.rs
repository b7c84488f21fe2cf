//! `engine.pause_when_idle`: how long the engine may sit unused before its VM is paused.
//!
//! Written as a whole number with a unit (`"20s"`, `"5m"`, `"1h"`), or `"0"` / `"off"` to
//! never pause. Anything else is refused with the forms that work; the file keeps the user's own
//! spelling as long as it means the same duration.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The default: Docker Desktop's Resource Saver waits five minutes too.
pub const DEFAULT_PAUSE_WHEN_IDLE: Duration = Duration::from_secs(5 * 60);

/// Shorter than this would pause between two commands of one script.
pub const MIN_PAUSE_WHEN_IDLE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseWhenIdle(Option<Duration>);

impl PauseWhenIdle {
    pub const OFF: PauseWhenIdle = PauseWhenIdle(None);

    pub fn after(duration: Duration) -> PauseWhenIdle {
        PauseWhenIdle(Some(duration))
    }

    /// `None`: never pause.
    pub fn duration(self) -> Option<Duration> {
        self.0
    }

    pub fn parse(text: &str) -> Result<PauseWhenIdle, String> {
        let text = text.trim();
        if text == "0" || text.eq_ignore_ascii_case("off") {
            return Ok(PauseWhenIdle::OFF);
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(format!("{text:?} is not a duration: write it like \"20s\", \"5m\" or \"1h\", or \"0\" to never pause")),
        };
        let number: u64 = number.parse().map_err(|_| {
            format!("{text:?} is not a duration: write a whole number before the unit, like \"5m\"")
        })?;
        let duration = Duration::from_secs(number.saturating_mul(unit_secs));
        if duration.is_zero() {
            return Ok(PauseWhenIdle::OFF);
        }
        if duration < MIN_PAUSE_WHEN_IDLE {
            return Err(format!(
                "{text:?} is too short: at least {}s, or \"0\" to never pause",
                MIN_PAUSE_WHEN_IDLE.as_secs()
            ));
        }
        if duration > Duration::from_secs(7 * 24 * 3600) {
            return Err(format!(
                "{text:?} is longer than a week; \"0\" never pauses"
            ));
        }
        Ok(PauseWhenIdle::after(duration))
    }
}

impl Default for PauseWhenIdle {
    fn default() -> Self {
        PauseWhenIdle::after(DEFAULT_PAUSE_WHEN_IDLE)
    }
}

impl fmt::Display for PauseWhenIdle {
    /// The shortest exact form: `"0"`, `"90s"`, `"5m"`, `"2h"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(duration) = self.0 else {
            return f.write_str("0");
        };
        let secs = duration.as_secs();
        if secs % 3600 == 0 {
            write!(f, "{}h", secs / 3600)
        } else if secs % 60 == 0 {
            write!(f, "{}m", secs / 60)
        } else {
            write!(f, "{secs}s")
        }
    }
}

impl Serialize for PauseWhenIdle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PauseWhenIdle {
    /// A string as above, or a bare `0` (the number) for off.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Text(String),
            Number(i64),
        }
        match Text::deserialize(deserializer)? {
            Text::Text(text) => PauseWhenIdle::parse(&text).map_err(serde::de::Error::custom),
            Text::Number(0) => Ok(PauseWhenIdle::OFF),
            Text::Number(n) => Err(serde::de::Error::custom(format!(
                "{n} has no unit: write it like \"{n}s\" or \"{n}m\", or 0 to never pause"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_in_their_shortest_form() {
        for (text, secs, shown) in [
            ("20s", 20, "20s"),
            ("5m", 300, "5m"),
            ("90s", 90, "90s"),
            ("120s", 120, "2m"),
            (" 1h ", 3600, "1h"),
        ] {
            let parsed = PauseWhenIdle::parse(text).unwrap();
            assert_eq!(parsed.duration(), Some(Duration::from_secs(secs)), "{text}");
            assert_eq!(parsed.to_string(), shown);
        }
        for off in ["0", "off", "OFF", "0s", "0m"] {
            assert_eq!(
                PauseWhenIdle::parse(off).unwrap(),
                PauseWhenIdle::OFF,
                "{off}"
            );
        }
        assert_eq!(PauseWhenIdle::OFF.to_string(), "0");
        assert_eq!(PauseWhenIdle::default().to_string(), "5m");
    }

    #[test]
    fn bad_durations_say_what_works() {
        for (text, says) in [
            ("5", "20s"),
            ("five minutes", "20s"),
            ("m", "whole number"),
            ("1.5m", "20s"),
            ("-5m", "20s"),
            ("3s", "at least 10s"),
            ("200h", "longer than a week"),
            ("99999999999999999999s", "whole number"),
        ] {
            let err = PauseWhenIdle::parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn toml_takes_a_string_or_a_bare_zero() {
        #[derive(Deserialize)]
        struct T {
            v: PauseWhenIdle,
        }
        let t: T = toml::from_str("v = \"20s\"").unwrap();
        assert_eq!(t.v.duration(), Some(Duration::from_secs(20)));
        let t: T = toml::from_str("v = 0").unwrap();
        assert_eq!(t.v, PauseWhenIdle::OFF);
        let err = toml::from_str::<T>("v = 5").err().unwrap().to_string();
        assert!(err.contains("no unit"), "{err}");
    }
}
