//! System: ping, version, info, disk usage.

use std::collections::BTreeMap;

use bollard::models::SystemInfo;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Engine, EngineError, CONNECT_TIMEOUT};

/// The engine's version, and the API version this client speaks with it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub version: String,
    /// The newest API version the engine supports.
    pub api_version: String,
    pub min_api_version: String,
    /// The version negotiated for this connection.
    pub negotiated_api_version: String,
    pub os: String,
    pub arch: String,
    pub kernel_version: String,
    pub go_version: String,
    pub git_commit: String,
}

/// Totals for one kind of object, as `docker system df` shows them.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    pub total_count: u64,
    pub active: u64,
    pub size: i64,
    pub reclaimable: i64,
}

/// Disk used by the engine.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskUsage {
    pub layers_size: i64,
    pub images: UsageTotals,
    pub containers: UsageTotals,
    pub volumes: UsageTotals,
    pub build_cache: UsageTotals,
    /// Volume name -> bytes.
    pub volume_sizes: BTreeMap<String, i64>,
}

/// bollard 0.21 models `/system/df` only in its API 1.52 shape (`ImageUsage`, ...), so at
/// the API 1.41 of dockerd 20.10 its typed answer is empty. We ask for the same endpoint
/// through bollard's transport (no hand-written HTTP) by rewriting the path of a request
/// whose body bollard hands back raw (`export_image`), and read either shape.
const DF_PLACEHOLDER: &str = "berth-placeholder-system-df";

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// Computes `docker system df`'s totals from the engine's answer, in the API 1.41 shape
/// (`LayersSize`, `Images`, ...) or the API 1.52 one (`ImageUsage`, ...).
pub fn disk_usage_from_df(df: &Value) -> DiskUsage {
    if df.get("ImageUsage").is_some() {
        return disk_usage_from_1_52(df);
    }
    let list = |k: &str| df[k].as_array().cloned().unwrap_or_default();
    let images = list("Images");
    let containers = list("Containers");
    let volumes = list("Volumes");
    let cache = list("BuildCache");
    let layers_size = i(&df["LayersSize"]);

    let image_active = images.iter().filter(|im| i(&im["Containers"]) > 0).count() as u64;
    let image_unshared = |im: &Value| {
        let shared = i(&im["SharedSize"]);
        i(&im["Size"]) - shared.max(0)
    };
    let image_used: i64 = images
        .iter()
        .filter(|im| i(&im["Containers"]) > 0)
        .map(image_unshared)
        .sum();

    let running = |c: &Value| c["State"].as_str() == Some("running");
    let size_rw = |c: &Value| i(&c["SizeRw"]).max(0);

    let vol_size = |v: &Value| i(&v["UsageData"]["Size"]).max(0);
    let vol_used = |v: &Value| i(&v["UsageData"]["RefCount"]) > 0;

    let cache_size = |b: &Value| i(&b["Size"]).max(0);
    let cache_used = |b: &Value| b["InUse"].as_bool().unwrap_or(false);

    DiskUsage {
        layers_size,
        images: UsageTotals {
            total_count: images.len() as u64,
            active: image_active,
            size: layers_size,
            reclaimable: (layers_size - image_used).max(0),
        },
        containers: UsageTotals {
            total_count: containers.len() as u64,
            active: containers.iter().filter(|c| running(c)).count() as u64,
            size: containers.iter().map(size_rw).sum(),
            reclaimable: containers.iter().filter(|c| !running(c)).map(size_rw).sum(),
        },
        volumes: UsageTotals {
            total_count: volumes.len() as u64,
            active: volumes.iter().filter(|v| vol_used(v)).count() as u64,
            size: volumes.iter().map(vol_size).sum(),
            reclaimable: volumes.iter().filter(|v| !vol_used(v)).map(vol_size).sum(),
        },
        build_cache: UsageTotals {
            total_count: cache.len() as u64,
            active: cache.iter().filter(|b| cache_used(b)).count() as u64,
            size: cache.iter().map(cache_size).sum(),
            reclaimable: cache
                .iter()
                .filter(|b| !cache_used(b))
                .map(cache_size)
                .sum(),
        },
        volume_sizes: volumes
            .iter()
            .filter_map(|v| Some((v["Name"].as_str()?.to_string(), i(&v["UsageData"]["Size"]))))
            .filter(|(_, s)| *s >= 0)
            .collect(),
    }
}

fn disk_usage_from_1_52(df: &Value) -> DiskUsage {
    let totals = |k: &str| {
        let u = &df[k];
        UsageTotals {
            total_count: u["TotalCount"].as_u64().unwrap_or(0),
            active: u["ActiveCount"].as_u64().unwrap_or(0),
            size: i(&u["TotalSize"]),
            reclaimable: i(&u["Reclaimable"]),
        }
    };
    let images = totals("ImageUsage");
    DiskUsage {
        layers_size: images.size,
        images,
        containers: totals("ContainerUsage"),
        volumes: totals("VolumeUsage"),
        build_cache: totals("BuildCacheUsage"),
        volume_sizes: df["VolumeUsage"]["Items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| Some((v["Name"].as_str()?.to_string(), i(&v["UsageData"]["Size"]))))
            .filter(|(_, s)| *s >= 0)
            .collect(),
    }
}

impl Engine {
    /// Succeeds when the engine answers within [`CONNECT_TIMEOUT`].
    pub async fn ping(&self) -> Result<(), EngineError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.docker.ping()).await {
            Ok(r) => r.map(|_| ()).map_err(self.err()),
            Err(_) => Err(EngineError::Unreachable {
                endpoint: self.address.to_string(),
                source: None,
            }),
        }
    }

    pub async fn version(&self) -> Result<VersionInfo, EngineError> {
        let v = self.docker.version().await.map_err(self.err())?;
        Ok(VersionInfo {
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            min_api_version: v.min_api_version.unwrap_or_default(),
            negotiated_api_version: self.api_version.to_string(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
            kernel_version: v.kernel_version.unwrap_or_default(),
            go_version: v.go_version.unwrap_or_default(),
            git_commit: v.git_commit.unwrap_or_default(),
        })
    }

    pub async fn info(&self) -> Result<SystemInfo, EngineError> {
        self.docker.info().await.map_err(self.err())
    }

    /// The engine's raw `/system/df` answer.
    pub async fn disk_usage_raw(&self) -> Result<Value, EngineError> {
        let from = format!("/images/{DF_PLACEHOLDER}/get");
        let docker = self.docker.clone().with_request_modifier(move |mut req| {
            let uri = req.uri().to_string();
            if uri.contains(&from) {
                if let Ok(new) = uri.replacen(&from, "/system/df", 1).parse() {
                    *req.uri_mut() = new;
                }
            }
            req
        });
        let chunks: Vec<bytes::Bytes> = docker
            .export_image(DF_PLACEHOLDER)
            .map_err(self.err())
            .try_collect()
            .await?;
        let body: Vec<u8> = chunks.concat();
        serde_json::from_slice(&body).map_err(|e| EngineError::Engine {
            status: None,
            message: format!("unreadable disk usage answer: {e}"),
        })
    }

    /// Disk used by images, containers, volumes and the build cache (`docker system df`).
    pub async fn disk_usage(&self) -> Result<DiskUsage, EngineError> {
        Ok(disk_usage_from_df(&self.disk_usage_raw().await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_totals_like_the_cli() {
        let df = serde_json::json!({
            "LayersSize": 1000,
            "Images": [
                {"Id": "a", "Size": 600, "SharedSize": 100, "Containers": 1},
                {"Id": "b", "Size": 400, "SharedSize": -1, "Containers": 0}
            ],
            "Containers": [
                {"Id": "c1", "State": "running", "SizeRw": 10},
                {"Id": "c2", "State": "exited", "SizeRw": 5}
            ],
            "Volumes": [
                {"Name": "used", "UsageData": {"Size": 70, "RefCount": 1}},
                {"Name": "free", "UsageData": {"Size": 30, "RefCount": 0}},
                {"Name": "unknown", "UsageData": {"Size": -1, "RefCount": -1}}
            ],
            "BuildCache": null
        });
        let u = disk_usage_from_df(&df);
        assert_eq!(
            u.images,
            UsageTotals {
                total_count: 2,
                active: 1,
                size: 1000,
                reclaimable: 500
            }
        );
        assert_eq!(
            u.containers,
            UsageTotals {
                total_count: 2,
                active: 1,
                size: 15,
                reclaimable: 5
            }
        );
        assert_eq!(
            u.volumes,
            UsageTotals {
                total_count: 3,
                active: 1,
                size: 100,
                reclaimable: 30
            }
        );
        assert_eq!(u.build_cache, UsageTotals::default());
        assert_eq!(u.volume_sizes.get("free"), Some(&30));
        assert!(!u.volume_sizes.contains_key("unknown"));
    }

    #[test]
    fn df_totals_from_the_api_1_52_shape() {
        let df = serde_json::json!({
            "ImageUsage": {"ActiveCount": 1, "TotalCount": 3, "Reclaimable": 40, "TotalSize": 100},
            "ContainerUsage": {"ActiveCount": 1, "TotalCount": 2, "Reclaimable": 5, "TotalSize": 15},
            "VolumeUsage": {"ActiveCount": 0, "TotalCount": 1, "Reclaimable": 7, "TotalSize": 7,
                "Items": [{"Name": "v", "UsageData": {"Size": 7, "RefCount": 0}}]},
            "BuildCacheUsage": {"ActiveCount": 0, "TotalCount": 0, "Reclaimable": 0, "TotalSize": 0}
        });
        let u = disk_usage_from_df(&df);
        assert_eq!(u.layers_size, 100);
        assert_eq!(
            u.images,
            UsageTotals {
                total_count: 3,
                active: 1,
                size: 100,
                reclaimable: 40
            }
        );
        assert_eq!(u.containers.size, 15);
        assert_eq!(u.volume_sizes.get("v"), Some(&7));
    }
}
