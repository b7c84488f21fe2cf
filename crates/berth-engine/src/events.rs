//! The engine's event stream, as typed events.

use std::collections::BTreeMap;

use bollard::models::EventMessage;
use bollard::query_parameters as q;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::{filter_map, sorted, Engine, EngineError};

/// One engine event: a container started, an image was pulled, a volume was removed, ...
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineEvent {
    /// `container`, `image`, `volume`, `network`, `daemon`, `plugin`, ...
    pub kind: String,
    /// `create`, `start`, `die`, `destroy`, `pull`, `exec_start: sh`, `health_status: healthy`, ...
    pub action: String,
    /// The object's id (an image reference for image events, a name for volumes).
    pub id: String,
    /// The `name` attribute when the engine sends one (containers, networks, images).
    pub name: Option<String>,
    pub attributes: BTreeMap<String, String>,
    /// Unix seconds.
    pub time: i64,
    /// Unix nanoseconds.
    pub time_nano: i64,
}

impl From<EventMessage> for EngineEvent {
    fn from(m: EventMessage) -> Self {
        let actor = m.actor.unwrap_or_default();
        let attributes = sorted(actor.attributes);
        EngineEvent {
            kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
            action: m.action.unwrap_or_default(),
            id: actor.id.unwrap_or_default(),
            name: attributes.get("name").cloned(),
            attributes,
            time: m.time.unwrap_or_default(),
            time_nano: m.time_nano.unwrap_or_default(),
        }
    }
}

/// Which events to receive. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventFilter {
    /// Event kinds: `container`, `image`, ...
    pub kinds: Vec<String>,
    /// Container ids or names.
    pub containers: Vec<String>,
    /// `key` or `key=value`.
    pub labels: Vec<String>,
    /// Actions: `start`, `die`, ...
    pub actions: Vec<String>,
    /// Replay events since this Unix time (seconds).
    pub since: Option<i64>,
    /// Stop at this Unix time (the stream then ends).
    pub until: Option<i64>,
}

impl EventFilter {
    fn to_options(&self) -> q::EventsOptions {
        let pairs = self
            .kinds
            .iter()
            .map(|v| ("type", v.clone()))
            .chain(self.containers.iter().map(|v| ("container", v.clone())))
            .chain(self.labels.iter().map(|v| ("label", v.clone())))
            .chain(self.actions.iter().map(|v| ("event", v.clone())));
        let filters = filter_map(pairs);
        q::EventsOptions {
            since: self.since.map(|s| s.to_string()),
            until: self.until.map(|s| s.to_string()),
            filters: (!filters.is_empty()).then_some(filters),
        }
    }
}

impl Engine {
    /// Engine events as they happen (never ends unless `until` is set or the engine goes away).
    pub fn events(
        &self,
        filter: &EventFilter,
    ) -> impl Stream<Item = Result<EngineEvent, EngineError>> + Send + 'static {
        let err = self.err();
        self.docker
            .events(Some(filter.to_options()))
            .map(move |r| r.map(EngineEvent::from).map_err(&err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_from_engine_json() {
        let raw = serde_json::json!({
            "Type": "container", "Action": "die",
            "Actor": {"ID": "abc", "Attributes": {"name": "web", "exitCode": "3"}},
            "scope": "local", "time": 10, "timeNano": 10000000001_i64
        });
        let m: EventMessage = serde_json::from_value(raw).unwrap();
        let e = EngineEvent::from(m);
        assert_eq!(e.kind, "container");
        assert_eq!(e.action, "die");
        assert_eq!(e.id, "abc");
        assert_eq!(e.name.as_deref(), Some("web"));
        assert_eq!(e.attributes["exitCode"], "3");
        assert_eq!(e.time, 10);
    }

    #[test]
    fn filter_to_options() {
        let f = EventFilter {
            kinds: vec!["container".into()],
            actions: vec!["start".into(), "die".into()],
            since: Some(5),
            ..Default::default()
        };
        let o = f.to_options();
        assert_eq!(o.since.as_deref(), Some("5"));
        let filters = o.filters.unwrap();
        assert_eq!(filters["type"], ["container"]);
        assert_eq!(filters["event"], ["start", "die"]);
        assert!(EventFilter::default().to_options().filters.is_none());
    }
}
