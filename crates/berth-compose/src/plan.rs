//! The pure planner: what `up` must do, from the project (desired) and the containers the
//! engine has for it (observed). No I/O here; the runner executes the plan.

use crate::model::Project;

/// The labels compose v2 writes (and docker-compose 1.29 mostly too).
pub mod labels {
    pub const PROJECT: &str = "com.docker.compose.project";
    pub const SERVICE: &str = "com.docker.compose.service";
    pub const NUMBER: &str = "com.docker.compose.container-number";
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
    pub const VERSION: &str = "com.docker.compose.version";
    pub const IMAGE: &str = "com.docker.compose.image";
    pub const NETWORK: &str = "com.docker.compose.network";
    pub const VOLUME: &str = "com.docker.compose.volume";
    /// Berth's own: the container's `pre_stop` hooks (JSON), run by whatever stops it.
    pub const PRE_STOP: &str = "dev.berth.compose.pre-stop";
    /// The compose version written in `com.docker.compose.version` (the format level of
    /// the labels Berth writes: compose v2's).
    pub const COMPOSE_VERSION: &str = "2.29.7";
}

/// A container of the project as the engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub id: String,
    pub name: String,
    pub service: String,
    pub number: u32,
    pub config_hash: String,
    pub running: bool,
    pub oneoff: bool,
    /// The `pre_stop` hooks the container was created with.
    pub pre_stop: Vec<crate::model::Hook>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recreate {
    /// Recreate when the config hash differs (the default).
    Diverged,
    /// `--force-recreate`.
    Always,
    /// `--no-recreate`.
    Never,
}

/// What `up` should do.
#[derive(Debug, Clone, PartialEq)]
pub struct UpOptions {
    /// Services to bring up (their dependencies come along); empty means all.
    pub services: Vec<String>,
    pub recreate: Recreate,
    pub remove_orphans: bool,
    /// Whether to start containers (false for `create`).
    pub start: bool,
}

impl Default for UpOptions {
    fn default() -> Self {
        Self {
            services: Vec::new(),
            recreate: Recreate::Diverged,
            remove_orphans: false,
            start: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create (and start) replica `number`.
    Create { service: String, number: u32 },
    /// Replace a container whose configuration changed.
    Recreate {
        service: String,
        number: u32,
        old: Observed,
    },
    /// Start an up-to-date container that is stopped.
    Start {
        service: String,
        container: Observed,
    },
    /// Leave an up-to-date running container alone.
    Keep {
        service: String,
        container: Observed,
    },
    /// Remove a container (scaled down, or an orphan with `--remove-orphans`).
    Remove { container: Observed },
}

impl Action {
    pub fn service(&self) -> &str {
        match self {
            Self::Create { service, .. }
            | Self::Recreate { service, .. }
            | Self::Start { service, .. }
            | Self::Keep { service, .. } => service,
            Self::Remove { container } => &container.service,
        }
    }
}

/// The plan: one step per service in dependency order, then removals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub steps: Vec<(String, Vec<Action>)>,
    pub removals: Vec<Action>,
    /// Containers of services the project no longer has (kept unless `--remove-orphans`).
    pub orphans: Vec<Observed>,
}

impl Plan {
    /// True when `up` would change nothing.
    pub fn is_noop(&self) -> bool {
        self.removals.is_empty()
            && self
                .steps
                .iter()
                .all(|(_, a)| a.iter().all(|a| matches!(a, Action::Keep { .. })))
    }
}

/// The services to bring up: those asked for and everything they depend on.
pub fn selected_services(project: &Project, wanted: &[String]) -> Vec<String> {
    let order: Vec<String> = project
        .services_in_dependency_order()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    if wanted.is_empty() {
        return order;
    }
    let mut keep: Vec<String> = Vec::new();
    let mut todo: Vec<String> = wanted.to_vec();
    while let Some(name) = todo.pop() {
        if keep.contains(&name) {
            continue;
        }
        if let Some(s) = project.services.get(&name) {
            todo.extend(s.dependencies().map(String::from));
        }
        keep.push(name);
    }
    order.into_iter().filter(|n| keep.contains(n)).collect()
}

pub fn plan_up(project: &Project, observed: &[Observed], opts: &UpOptions) -> Plan {
    let mut plan = Plan::default();
    let observed: Vec<&Observed> = observed.iter().filter(|o| !o.oneoff).collect();
    for name in selected_services(project, &opts.services) {
        let Some(service) = project.services.get(&name) else {
            continue;
        };
        let hashes = [service.config_hash(), service.legacy_config_hash()];
        let mut mine: Vec<&Observed> = observed
            .iter()
            .copied()
            .filter(|o| o.service == name)
            .collect();
        mine.sort_by_key(|o| o.number);
        let replicas = service.replicas() as usize;
        let mut actions = Vec::new();
        for o in mine.iter().skip(replicas).rev() {
            plan.removals.push(Action::Remove {
                container: (*o).clone(),
            });
        }
        for o in mine.iter().take(replicas) {
            let changed = match opts.recreate {
                Recreate::Always => true,
                Recreate::Never => false,
                Recreate::Diverged => !hashes.contains(&o.config_hash),
            };
            actions.push(if changed {
                Action::Recreate {
                    service: name.clone(),
                    number: o.number,
                    old: (*o).clone(),
                }
            } else if o.running || !opts.start {
                Action::Keep {
                    service: name.clone(),
                    container: (*o).clone(),
                }
            } else {
                Action::Start {
                    service: name.clone(),
                    container: (*o).clone(),
                }
            });
        }
        let mut next = 1;
        for _ in mine.len().min(replicas)..replicas {
            while mine.iter().take(replicas).any(|o| o.number == next) {
                next += 1;
            }
            actions.push(Action::Create {
                service: name.clone(),
                number: next,
            });
            next += 1;
        }
        plan.steps.push((name, actions));
    }
    for o in observed {
        let known =
            project.services.contains_key(&o.service) || project.disabled.contains(&o.service);
        if !known {
            if opts.remove_orphans {
                plan.removals.push(Action::Remove {
                    container: o.clone(),
                });
            } else {
                plan.orphans.push(o.clone());
            }
        }
    }
    plan
}

/// The plan's steps grouped by dependency depth: level 0 depends on nothing in the plan,
/// level n only on services of lower levels (so each level can start at once).
pub fn levels<'p>(project: &Project, plan: &'p Plan) -> Vec<Vec<(&'p String, &'p [Action])>> {
    let mut depth: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut out: Vec<Vec<(&String, &[Action])>> = Vec::new();
    for (service, actions) in &plan.steps {
        let d = project
            .services
            .get(service)
            .map(|s| {
                s.dependencies()
                    .filter_map(|dep| depth.get(dep).map(|d| d + 1))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        depth.insert(service, d);
        if out.len() <= d {
            out.resize_with(d + 1, Vec::new);
        }
        out[d].push((service, actions.as_slice()));
    }
    out
}

/// `<project>-<service>-<n>`, or `container_name` when the service sets one.
pub fn container_name(project: &Project, service: &str, number: u32) -> String {
    match project
        .services
        .get(service)
        .and_then(|s| s.container_name.clone())
    {
        Some(name) => name,
        None => format!("{}-{service}-{number}", project.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Condition, Dependency, Service};

    fn project() -> Project {
        let mut p = Project {
            name: "demo".into(),
            ..Default::default()
        };
        for name in ["db", "web"] {
            p.services.insert(
                name.into(),
                Service {
                    name: name.into(),
                    image: Some("busybox".into()),
                    ..Default::default()
                },
            );
        }
        p.services.get_mut("web").unwrap().depends_on.insert(
            "db".into(),
            Dependency {
                condition: Condition::ServiceHealthy,
                required: true,
                restart: false,
            },
        );
        p
    }

    fn obs(p: &Project, service: &str, number: u32, running: bool) -> Observed {
        Observed {
            id: format!("{service}{number}"),
            name: container_name(p, service, number),
            service: service.into(),
            number,
            config_hash: p.services[service].config_hash(),
            running,
            oneoff: false,
            pre_stop: Vec::new(),
        }
    }

    #[test]
    fn fresh_project_creates_in_dependency_order() {
        let p = project();
        let plan = plan_up(&p, &[], &UpOptions::default());
        assert_eq!(
            plan.steps,
            vec![
                (
                    "db".to_string(),
                    vec![Action::Create {
                        service: "db".into(),
                        number: 1
                    }]
                ),
                (
                    "web".to_string(),
                    vec![Action::Create {
                        service: "web".into(),
                        number: 1
                    }]
                ),
            ]
        );
        assert!(!plan.is_noop());
    }

    #[test]
    fn unchanged_project_is_a_noop_and_changed_service_is_recreated() {
        let mut p = project();
        let observed = vec![obs(&p, "db", 1, true), obs(&p, "web", 1, true)];
        assert!(plan_up(&p, &observed, &UpOptions::default()).is_noop());
        p.services
            .get_mut("web")
            .unwrap()
            .environment
            .insert("X".into(), Some("2".into()));
        let plan = plan_up(&p, &observed, &UpOptions::default());
        assert!(matches!(plan.steps[0].1[0], Action::Keep { .. }));
        assert!(matches!(
            plan.steps[1].1[0],
            Action::Recreate { number: 1, .. }
        ));
    }

    #[test]
    fn containers_with_berths_earlier_hash_are_kept_and_other_hashes_recreated() {
        let p = project();
        let mut db = obs(&p, "db", 1, true);
        db.config_hash = p.services["db"].legacy_config_hash();
        let mut web = obs(&p, "web", 1, true);
        web.config_hash = "0".repeat(64);
        let plan = plan_up(&p, &[db, web], &UpOptions::default());
        assert!(matches!(plan.steps[0].1[0], Action::Keep { .. }));
        assert!(matches!(plan.steps[1].1[0], Action::Recreate { .. }));
    }

    #[test]
    fn stopped_containers_are_started_and_scale_is_honoured() {
        let mut p = project();
        p.services.get_mut("web").unwrap().scale = Some(3);
        let observed = vec![
            obs(&p, "db", 1, false),
            obs(&p, "web", 2, true),
            obs(&p, "db", 2, true),
        ];
        let plan = plan_up(&p, &observed, &UpOptions::default());
        assert!(matches!(plan.steps[0].1[0], Action::Start { .. }));
        let web: Vec<_> = plan.steps[1].1.clone();
        assert!(matches!(web[0], Action::Keep { .. }));
        assert_eq!(
            web[1..],
            [
                Action::Create {
                    service: "web".into(),
                    number: 1
                },
                Action::Create {
                    service: "web".into(),
                    number: 3
                }
            ]
        );
        assert_eq!(
            plan.removals,
            vec![Action::Remove {
                container: obs(&p, "db", 2, true)
            }]
        );
    }

    #[test]
    fn orphans_are_reported_or_removed() {
        let p = project();
        let mut old = obs(&p, "db", 1, true);
        old.service = "legacy".into();
        let plan = plan_up(&p, std::slice::from_ref(&old), &UpOptions::default());
        assert_eq!(plan.orphans, vec![old.clone()]);
        assert!(plan.removals.is_empty());
        let opts = UpOptions {
            remove_orphans: true,
            ..Default::default()
        };
        let plan = plan_up(&p, std::slice::from_ref(&old), &opts);
        assert_eq!(plan.removals, vec![Action::Remove { container: old }]);
    }

    #[test]
    fn levels_group_independent_services() {
        let mut p = project();
        p.services.insert(
            "cache".into(),
            Service {
                name: "cache".into(),
                image: Some("redis".into()),
                ..Default::default()
            },
        );
        let plan = plan_up(&p, &[], &UpOptions::default());
        let names: Vec<Vec<&str>> = levels(&p, &plan)
            .iter()
            .map(|l| l.iter().map(|(s, _)| s.as_str()).collect())
            .collect();
        assert_eq!(names, vec![vec!["cache", "db"], vec!["web"]]);
    }

    #[test]
    fn selecting_a_service_brings_its_dependencies() {
        let p = project();
        assert_eq!(selected_services(&p, &["web".into()]), ["db", "web"]);
        assert_eq!(selected_services(&p, &["db".into()]), ["db"]);
        let opts = UpOptions {
            recreate: Recreate::Always,
            ..Default::default()
        };
        let observed = vec![obs(&p, "db", 1, true)];
        let plan = plan_up(&p, &observed, &opts);
        assert!(matches!(plan.steps[0].1[0], Action::Recreate { .. }));
    }
}
