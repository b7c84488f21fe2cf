//! Clean up (`berth prune`, the Troubleshoot page): removes stopped containers, dangling
//! images, unused networks and the build cache, and unused volumes only when asked; reports
//! what each step freed.

use berth_core::ApiError;
use serde::Serialize;

use crate::transport::ToApi;
use crate::Berth;

/// What one prune step removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneStep {
    pub deleted: usize,
    pub space_reclaimed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneSummary {
    pub containers: PruneStep,
    pub images: PruneStep,
    pub networks: PruneStep,
    pub build_cache: PruneStep,
    /// `None` when volumes were kept.
    pub volumes: Option<PruneStep>,
}

impl PruneSummary {
    pub fn space_reclaimed(&self) -> u64 {
        [
            &self.containers,
            &self.images,
            &self.networks,
            &self.build_cache,
        ]
        .into_iter()
        .chain(self.volumes.as_ref())
        .map(|s| s.space_reclaimed)
        .sum()
    }
}

impl Berth {
    /// Prunes in the order that frees the most: containers first (they hold images, networks
    /// and volumes), then images, networks, the build cache, and volumes when `volumes`.
    pub async fn prune(&self, volumes: bool) -> Result<PruneSummary, ApiError> {
        let engine = self.engine().await?;
        let report = |r: berth_engine::images::PruneReport| PruneStep {
            deleted: r.deleted.len(),
            space_reclaimed: r.space_reclaimed,
        };
        let containers = report(engine.prune_containers().await.to_api()?);
        let images = report(engine.prune_images(false).await.to_api()?);
        let networks = report(engine.prune_networks().await.to_api()?);
        let build_cache = report(engine.prune_build_cache().await.to_api()?);
        let volumes = if volumes {
            Some(report(engine.prune_volumes().await.to_api()?))
        } else {
            None
        };
        Ok(PruneSummary {
            containers,
            images,
            networks,
            build_cache,
            volumes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_counts_volumes_only_when_pruned() {
        let step = |n| PruneStep {
            deleted: 1,
            space_reclaimed: n,
        };
        let mut summary = PruneSummary {
            containers: step(1),
            images: step(10),
            networks: step(0),
            build_cache: step(100),
            volumes: None,
        };
        assert_eq!(summary.space_reclaimed(), 111);
        summary.volumes = Some(step(1000));
        assert_eq!(summary.space_reclaimed(), 1111);
    }
}
