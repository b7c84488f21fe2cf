//! Removing what a lesson made, found by its label alone: services, the swarm (only one the
//! lesson made), containers, networks, volumes and images labelled `berth.learn=<lesson>`, and
//! the shared lesson image once no lesson uses it. Nothing unlabelled is ever looked at.

use std::time::Duration;

use berth_engine::containers::RemoveOptions;
use berth_engine::{ContainerFilter, Engine, ErrorCode};
use serde::Serialize;

use super::base_image::{BASE_LABEL_VALUE, LABEL};
use super::model::Text;
use super::ops_swarm::leave_if_made_by;

/// What a cleanup removed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    pub services: usize,
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    pub images: usize,
    /// The engine left a swarm the lesson had made.
    pub left_swarm: bool,
    /// What could not be removed, and why.
    pub problems: Vec<String>,
}

impl CleanupReport {
    pub fn removed(&self) -> usize {
        self.services + self.containers + self.networks + self.volumes + self.images
    }

    /// What was removed, as a shell says it.
    pub fn describe(&self) -> Text {
        let (c, i, v, n, s) = (
            self.containers,
            self.images,
            self.volumes,
            self.networks,
            self.services,
        );
        let (left_en, left_ja) = if self.left_swarm {
            (
                "; left the lesson's swarm",
                "。レッスンの Swarm から離脱しました",
            )
        } else {
            ("", "")
        };
        Text::new(
            format!(
                "Removed {c} containers, {i} images, {v} volumes, {n} networks, {s} services{left_en}"
            ),
            format!(
                "削除: コンテナ {c}、イメージ {i}、ボリューム {v}、ネットワーク {n}、サービス {s}{left_ja}"
            ),
        )
    }
}

/// Removes what `lesson` made, or what any lesson made when `None`.
pub async fn clean_up(engine: &Engine, lesson: Option<&str>) -> CleanupReport {
    let mut report = CleanupReport::default();
    let selector = match lesson {
        Some(l) => format!("{LABEL}={l}"),
        None => LABEL.to_string(),
    };
    services_and_swarm(engine, lesson, &selector, &mut report).await;
    containers(engine, &selector, &mut report).await;
    networks(engine, &selector, &mut report).await;
    volumes(engine, &selector, &mut report).await;
    let base_unused = match lesson {
        None => true,
        Some(_) => no_lesson_containers(engine).await,
    };
    images(engine, lesson, base_unused, &mut report).await;
    report
}

fn note(report: &mut CleanupReport, what: &str, e: impl std::fmt::Display) {
    tracing::warn!(%what, error = %e, "lesson cleanup");
    report.problems.push(format!("{what}: {e}"));
}

async fn services_and_swarm(
    engine: &Engine,
    lesson: Option<&str>,
    selector: &str,
    report: &mut CleanupReport,
) {
    let state = match engine.swarm_state().await {
        Ok(s) if s.active => s,
        Ok(_) => return,
        Err(e) => return note(report, "swarm", e),
    };
    if state.manager {
        match engine.services_with_label(selector).await {
            Ok(services) => {
                for s in services {
                    match engine.remove_service(&s.id).await {
                        Ok(()) => report.services += 1,
                        Err(e) => note(report, &format!("service {}", s.name), e),
                    }
                }
            }
            Err(e) => note(report, "services", e),
        }
    }
    let maker = match lesson {
        Some(l) => Some(l.to_string()),
        None => state.labels.get(LABEL).cloned(),
    };
    if let Some(maker) = maker {
        match leave_if_made_by(engine, &maker).await {
            Ok(left) => report.left_swarm = left,
            Err(e) => note(report, "swarm leave", e),
        }
    }
}

async fn containers(engine: &Engine, selector: &str, report: &mut CleanupReport) {
    let filter = ContainerFilter {
        all: true,
        labels: vec![selector.to_string()],
        ..ContainerFilter::default()
    };
    let list = match engine.list_containers(&filter).await {
        Ok(list) => list,
        Err(e) => return note(report, "containers", e),
    };
    let force = RemoveOptions {
        force: true,
        volumes: true,
    };
    for c in list {
        match engine.remove_container(&c.id, force).await {
            Ok(()) => report.containers += 1,
            // A swarm task's container may go away by itself meanwhile.
            Err(e) if e.code() == ErrorCode::NotFound => {}
            Err(e) => note(report, &format!("container {}", c.name), e),
        }
    }
}

async fn networks(engine: &Engine, selector: &str, report: &mut CleanupReport) {
    let list = match engine.networks_with_label(selector).await {
        Ok(list) => list,
        Err(e) => return note(report, "networks", e),
    };
    for n in list {
        // An endpoint of a just-removed container may take a moment to go.
        let mut last = None;
        for _ in 0..20 {
            match engine.remove_network(&n.id).await {
                Ok(()) => {
                    report.networks += 1;
                    last = None;
                    break;
                }
                Err(e) if e.code() == ErrorCode::NotFound => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if let Some(e) = last {
            note(report, &format!("network {}", n.name), e);
        }
    }
}

async fn volumes(engine: &Engine, selector: &str, report: &mut CleanupReport) {
    let list = match engine.volumes_with_label(selector).await {
        Ok(list) => list,
        Err(e) => return note(report, "volumes", e),
    };
    for v in list {
        match engine.remove_volume(&v.name, true).await {
            Ok(()) => report.volumes += 1,
            Err(e) => note(report, &format!("volume {}", v.name), e),
        }
    }
}

async fn no_lesson_containers(engine: &Engine) -> bool {
    let filter = ContainerFilter {
        all: true,
        labels: vec![LABEL.to_string()],
        ..ContainerFilter::default()
    };
    engine
        .list_containers(&filter)
        .await
        .is_ok_and(|list| list.is_empty())
}

/// The lesson's images, then (when no lesson uses it) the shared base image: children before
/// their parent, since an image with children cannot be removed.
async fn images(
    engine: &Engine,
    lesson: Option<&str>,
    base_unused: bool,
    report: &mut CleanupReport,
) {
    let list = match engine.list_images(false).await {
        Ok(list) => list,
        Err(e) => return note(report, "images", e),
    };
    let mut doomed: Vec<_> = list
        .into_iter()
        .filter(|i| match i.labels.get(LABEL).map(String::as_str) {
            Some(BASE_LABEL_VALUE) => base_unused,
            Some(value) => lesson.is_none_or(|l| l == value),
            None => false,
        })
        .collect();
    doomed.sort_by_key(|i| i.labels.get(LABEL).is_some_and(|v| v == BASE_LABEL_VALUE));
    for image in doomed {
        match engine.remove_image(&image.id, true).await {
            Ok(_) => report.images += 1,
            Err(e) if e.code() == ErrorCode::NotFound => {}
            Err(e) => note(report, &format!("image {}", image.id), e),
        }
    }
}
