//! Autoscaling, which Swarm lacks: a per-service rule (min and max replicas, a CPU target)
//! that Berth applies from the engine's stats: the average CPU of the service's running
//! tasks' containers on this node. The replica count follows the target as Kubernetes'
//! horizontal autoscaler does (`ceil(replicas * cpu / target)`, within min and max, left
//! alone within 10 % of the target), and only once the service has converged, so tasks that
//! are still starting are never measured. Rules are stored owner-only; every scaling decision
//! is logged, with its reason, to `logs/autoscale.log` (JSON lines).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use berth_core::{owner_only, ApiError, BerthPaths, ErrorCode};
use berth_engine::Engine;
use futures_util::future::join_all;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::engine_watch::EngineWatch;
use crate::transport::ToApi;

/// The file the rules live in, under the config dir.
pub const RULES_FILE: &str = "swarm-autoscale.json";
/// The decisions' log, under the logs dir.
pub const LOG_FILE: &str = "autoscale.log";
/// How close to the target counts as on target.
const TOLERANCE: f64 = 0.1;
/// How often the app applies the rules.
pub const APP_INTERVAL: Duration = Duration::from_secs(15);
/// How many logged decisions [`Autoscaler::history`] keeps in its answer (the newest).
const HISTORY: usize = 200;

/// One service's rule.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoscaleRule {
    pub service: String,
    pub min: u64,
    pub max: u64,
    /// Target CPU per task, in percent of one CPU (as `docker stats` shows it).
    pub cpu_percent: f64,
}

impl AutoscaleRule {
    /// A rule that makes sense, or an error naming what does not.
    pub fn new(service: &str, min: u64, max: u64, cpu_percent: f64) -> Result<Self, ApiError> {
        let bad = |m: String| Err(ApiError::new(ErrorCode::InvalidInput, m));
        if service.trim().is_empty() {
            return bad("autoscale needs a service name".into());
        }
        if min < 1 {
            return bad(format!(
                "--min must be at least 1 (a service with no task has no CPU to measure), found {min}"
            ));
        }
        if max < min {
            return bad(format!("--max ({max}) must not be below --min ({min})"));
        }
        if !(cpu_percent.is_finite() && cpu_percent > 0.0 && cpu_percent <= 10_000.0) {
            return bad(format!(
                "--cpu must be a percentage above 0 (100 is one full CPU), found {cpu_percent}"
            ));
        }
        Ok(AutoscaleRule {
            service: service.to_string(),
            min,
            max,
            cpu_percent,
        })
    }

    /// The replica count for `replicas` running at `cpu` percent on average, and why.
    pub fn decide(&self, replicas: u64, cpu: f64) -> (u64, String) {
        let target = self.cpu_percent;
        if replicas < self.min {
            return (
                self.min,
                format!(
                    "{replicas} replicas is below the rule's minimum {}",
                    self.min
                ),
            );
        }
        if replicas > self.max {
            return (
                self.max,
                format!(
                    "{replicas} replicas is above the rule's maximum {}",
                    self.max
                ),
            );
        }
        let ratio = cpu / target;
        if (ratio - 1.0).abs() <= TOLERANCE {
            return (
                replicas,
                format!("CPU {cpu:.0}% is within 10% of the target {target:.0}%"),
            );
        }
        let wanted = (replicas as f64 * ratio).ceil().max(0.0) as u64;
        let to = wanted.clamp(self.min, self.max);
        let direction = if cpu > target { "above" } else { "below" };
        let mut reason = format!(
            "CPU {cpu:.0}% per task is {direction} the target {target:.0}%: {replicas} x {cpu:.0} / {target:.0} wants {wanted}"
        );
        if to != wanted {
            let bound = if to == self.max { "maximum" } else { "minimum" };
            reason.push_str(&format!(", held at the rule's {bound} {to}"));
        }
        (to, reason)
    }
}

/// The rules, in an owner-only JSON file written atomically.
#[derive(Debug, Clone)]
pub struct RuleStore {
    path: PathBuf,
}

impl RuleStore {
    pub fn at(paths: &BerthPaths) -> RuleStore {
        RuleStore {
            path: paths.config_dir.join(RULES_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rules by service; no file means none. A file that cannot be read is an error,
    /// never an empty set that a save would then overwrite.
    pub fn load(&self) -> Result<BTreeMap<String, AutoscaleRule>, ApiError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(io_error(&self.path, &e)),
        };
        let rules: Vec<AutoscaleRule> = serde_json::from_str(&text).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidSettings,
                format!(
                    "{}: not a list of autoscale rules: {e}",
                    self.path.display()
                ),
            )
        })?;
        Ok(rules.into_iter().map(|r| (r.service.clone(), r)).collect())
    }

    fn save(&self, rules: &BTreeMap<String, AutoscaleRule>) -> Result<(), ApiError> {
        let list: Vec<&AutoscaleRule> = rules.values().collect();
        let json = serde_json::to_vec_pretty(&list)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        if let Some(dir) = self.path.parent() {
            owner_only::create_dir(dir).map_err(|e| io_error(dir, &e))?;
        }
        berth_core::atomic_file::write(&self.path, &json, owner_only::FILE_MODE)
            .map_err(|e| io_error(&self.path, &e))
    }

    /// Sets (or replaces) the service's rule.
    pub fn set(&self, rule: AutoscaleRule) -> Result<(), ApiError> {
        let mut rules = self.load()?;
        rules.insert(rule.service.clone(), rule);
        self.save(&rules)
    }

    /// Removes the service's rule; returns whether there was one.
    pub fn remove(&self, service: &str) -> Result<bool, ApiError> {
        let mut rules = self.load()?;
        let had = rules.remove(service).is_some();
        if had {
            self.save(&rules)?;
        }
        Ok(had)
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> ApiError {
    ApiError::new(ErrorCode::Io, format!("{}: {e}", path.display()))
}

/// One evaluation of one rule.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoscaleDecision {
    /// RFC 3339.
    pub at: String,
    pub service: String,
    pub from: u64,
    pub to: u64,
    /// The average CPU of the measured tasks, when there were some.
    pub cpu_percent: Option<f64>,
    pub measured_tasks: usize,
    pub reason: String,
}

impl AutoscaleDecision {
    pub fn scales(&self) -> bool {
        self.from != self.to
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Applies the stored rules to an engine.
#[derive(Debug, Clone)]
pub struct Autoscaler {
    engine: Engine,
    store: RuleStore,
    log: PathBuf,
}

impl Autoscaler {
    pub fn new(engine: Engine, paths: &BerthPaths) -> Autoscaler {
        Autoscaler {
            engine,
            store: RuleStore::at(paths),
            log: paths.logs_dir.join(LOG_FILE),
        }
    }

    /// Evaluates every rule once, scales where a rule says so, and logs each scaling
    /// decision. Returns every evaluation (holds too).
    pub async fn tick(&self) -> Result<Vec<AutoscaleDecision>, ApiError> {
        let node = self.engine.swarm_state().await.to_api()?.node_id;
        let mut out = Vec::new();
        for rule in self.store.load()?.into_values() {
            let decision = match self.evaluate(&rule, node.as_deref()).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(service = %rule.service, error = %e.message, "autoscale rule not applied");
                    continue;
                }
            };
            if let Some(d) = &decision {
                if d.scales() {
                    self.engine.scale_service(&d.service, d.to).await.to_api()?;
                    tracing::info!(service = %d.service, from = d.from, to = d.to, reason = %d.reason, "autoscaled");
                    self.write_log(d);
                }
                out.extend(decision);
            }
        }
        Ok(out)
    }

    /// Runs [`Autoscaler::tick`] every `interval` until `stop` resolves, handing each
    /// evaluation to `report`.
    pub async fn run(
        &self,
        interval: Duration,
        stop: impl std::future::Future<Output = ()>,
        mut report: impl FnMut(&AutoscaleDecision),
    ) {
        tokio::pin!(stop);
        loop {
            match self.tick().await {
                Ok(decisions) => decisions.iter().for_each(&mut report),
                Err(e) => tracing::warn!(error = %e.message, "autoscale pass failed"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    async fn evaluate(
        &self,
        rule: &AutoscaleRule,
        node: Option<&str>,
    ) -> Result<Option<AutoscaleDecision>, ApiError> {
        let service = self.engine.inspect_service(&rule.service).await.to_api()?;
        let Some(replicas) = service.replicas else {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{} is a {} service: only a replicated service can be autoscaled",
                    rule.service, service.mode
                ),
            ));
        };
        let tasks = self.engine.service_tasks(&rule.service).await.to_api()?;
        let running: Vec<_> = tasks.iter().filter(|t| t.is_running()).collect();
        let decision =
            |to: u64, cpu: Option<f64>, measured: usize, reason: String| AutoscaleDecision {
                at: now(),
                service: rule.service.clone(),
                from: replicas,
                to,
                cpu_percent: cpu,
                measured_tasks: measured,
                reason,
            };
        if (running.len() as u64) != replicas && (rule.min..=rule.max).contains(&replicas) {
            let reason = format!("waiting: {} of {replicas} tasks running", running.len());
            return Ok(Some(decision(replicas, None, 0, reason)));
        }
        let containers: Vec<String> = running
            .iter()
            .filter(|t| node.is_none() || t.node_id.as_deref() == node)
            .filter_map(|t| t.container_id.clone())
            .collect();
        let samples = join_all(containers.iter().map(|id| {
            let mut stats = self.engine.stats(id, false);
            async move { stats.next().await.and_then(Result::ok) }
        }))
        .await;
        let cpus: Vec<f64> = samples
            .into_iter()
            .flatten()
            .map(|s| s.cpu_percent)
            .collect();
        if cpus.is_empty() {
            let (to, reason) = if (rule.min..=rule.max).contains(&replicas) {
                (
                    replicas,
                    "no running task on this node to measure".to_string(),
                )
            } else {
                rule.decide(replicas, rule.cpu_percent)
            };
            return Ok(Some(decision(to, None, 0, reason)));
        }
        let cpu = cpus.iter().sum::<f64>() / cpus.len() as f64;
        let (to, reason) = rule.decide(replicas, cpu);
        Ok(Some(decision(to, Some(cpu), cpus.len(), reason)))
    }

    fn write_log(&self, d: &AutoscaleDecision) {
        let line = match serde_json::to_string(d) {
            Ok(line) => line,
            Err(_) => return,
        };
        let written = self
            .log
            .parent()
            .map_or(Ok(()), owner_only::create_dir)
            .and_then(|()| owner_only::append(&self.log))
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            tracing::warn!(path = %self.log.display(), error = %e, "cannot write the autoscale log");
        }
    }

    /// The logged scaling decisions, oldest first (the newest 200).
    pub fn history(&self) -> Result<Vec<AutoscaleDecision>, ApiError> {
        read_history(&self.log)
    }
}

fn read_history(log: &Path) -> Result<Vec<AutoscaleDecision>, ApiError> {
    let text = match std::fs::read_to_string(log) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(log, &e)),
    };
    let all: Vec<AutoscaleDecision> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Ok(all[all.len().saturating_sub(HISTORY)..].to_vec())
}

/// The logged scaling decisions of this Berth, oldest first (the newest 200).
pub fn history(paths: &BerthPaths) -> Result<Vec<AutoscaleDecision>, ApiError> {
    read_history(&paths.logs_dir.join(LOG_FILE))
}

/// Applies the stored rules every [`APP_INTERVAL`] for as long as the app runs, on whichever
/// engine it follows (`berth swarm autoscaler` is the CLI's way). With no rule it asks the
/// engine nothing, so an idle engine stays idle.
pub async fn apply_while_open(link: Arc<EngineWatch>) {
    loop {
        tokio::time::sleep(APP_INTERVAL).await;
        let paths = link.berth().paths().clone();
        match RuleStore::at(&paths).load() {
            Ok(rules) if rules.is_empty() => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e.message, "autoscale rules unreadable");
                continue;
            }
        }
        let Ok(engine) = link.engine().await else {
            continue;
        };
        if let Err(e) = Autoscaler::new(engine, &paths).tick().await {
            tracing::warn!(error = %e.message, "autoscale pass failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> AutoscaleRule {
        AutoscaleRule::new("web", 1, 3, 50.0).unwrap()
    }

    #[test]
    fn busy_tasks_scale_up_within_the_maximum() {
        assert_eq!(rule().decide(1, 100.0).0, 2);
        let (to, reason) = rule().decide(2, 100.0);
        assert_eq!(to, 3);
        assert!(reason.contains("maximum 3"), "{reason}");
    }

    #[test]
    fn idle_tasks_scale_down_to_the_minimum() {
        let (to, reason) = rule().decide(3, 0.0);
        assert_eq!(to, 1);
        assert!(reason.contains("below the target"), "{reason}");
        assert!(reason.contains("minimum 1"), "{reason}");
    }

    #[test]
    fn near_the_target_nothing_changes() {
        assert_eq!(rule().decide(2, 53.0).0, 2);
        assert_eq!(rule().decide(2, 47.0).0, 2);
    }

    #[test]
    fn replicas_outside_the_bounds_are_brought_back() {
        assert_eq!(rule().decide(5, 50.0).0, 3);
    }

    #[test]
    fn bad_rules_name_the_option() {
        for (min, max, cpu, word) in [
            (0, 3, 50.0, "--min"),
            (3, 2, 50.0, "--max"),
            (1, 2, 0.0, "--cpu"),
            (1, 2, f64::NAN, "--cpu"),
        ] {
            let e = AutoscaleRule::new("web", min, max, cpu).unwrap_err();
            assert!(e.message.contains(word), "{}", e.message);
        }
    }

    #[cfg(unix)]
    #[test]
    fn rules_are_stored_owner_only_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        let store = RuleStore::at(&paths);
        store.set(rule()).unwrap();
        store
            .set(AutoscaleRule::new("api", 2, 4, 80.0).unwrap())
            .unwrap();
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(store.load().unwrap().len(), 2);
        assert!(store.remove("web").unwrap());
        assert!(!store.remove("web").unwrap());
        assert_eq!(store.load().unwrap().keys().collect::<Vec<_>>(), ["api"]);
    }

    #[test]
    fn an_unreadable_rules_file_is_an_error_not_an_empty_set() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        let store = RuleStore::at(&paths);
        std::fs::create_dir_all(store.path().parent().unwrap()).unwrap();
        std::fs::write(store.path(), "{not json").unwrap();
        assert_eq!(store.load().unwrap_err().code, ErrorCode::InvalidSettings);
        assert!(store.set(rule()).is_err());
    }
}
