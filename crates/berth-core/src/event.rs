//! Typed events that Berth itself emits (not the engine's own events, which `berth-engine`
//! types). The daemon streams them over its control socket; the UI and the tray follow them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::state::EngineState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BerthEvent {
    /// The engine state machine moved.
    EngineState {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        state: EngineState,
    },
    /// Something the user should see that is not a state change (a port that could not be
    /// published, a setting that needs a restart).
    Notice {
        level: NoticeLevel,
        message: String,
        /// The object it is about, such as a container id.
        subject: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

impl BerthEvent {
    pub fn engine_state(state: EngineState) -> Self {
        BerthEvent::EngineState {
            at: OffsetDateTime::now_utc(),
            state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_tagged_json() {
        let events = [
            BerthEvent::engine_state(EngineState::Stopped),
            BerthEvent::Notice {
                level: NoticeLevel::Warning,
                message: "port 8080 is already in use on the host".into(),
                subject: Some("abc123".into()),
            },
        ];
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            let back: BerthEvent = serde_json::from_str(&json).unwrap();
            assert_eq!(back, event);
        }
        let json = serde_json::to_value(BerthEvent::Notice {
            level: NoticeLevel::Info,
            message: "m".into(),
            subject: None,
        })
        .unwrap();
        assert_eq!(json["kind"], "notice");
    }
}
