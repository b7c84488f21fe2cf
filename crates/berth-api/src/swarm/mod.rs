//! Swarm as the dashboard and `berth swarm` use it: the engine's place in a swarm (init,
//! join, leave), nodes, services (scale, image update, rollback) and their tasks, secrets
//! and configs, stacks deployed from compose files ([`stack`]), and autoscaling
//! ([`autoscale`]).

pub mod autoscale;
pub mod deploy_section;
pub mod deploy_source;
pub mod stack;
pub mod stack_file;

use berth_core::{ApiError, ErrorCode};
use berth_engine::Engine;

use crate::transport::ToApi;

pub use berth_engine::swarm::{
    Availability, JoinTokens, NodeSummary, SwarmJoin, SwarmObject, SwarmObjectKind,
};
pub use berth_engine::{ServiceSummary, SwarmState, TaskSummary};

/// A stack file error (`file:line: key: message`) as every caller shows it.
pub(crate) fn stack_error(e: berth_compose::LoadError) -> ApiError {
    ApiError::from_error(ErrorCode::InvalidInput, &e)
}

/// Fails with a clear error unless the engine manages a swarm.
pub(crate) async fn require_manager(engine: &Engine) -> Result<SwarmState, ApiError> {
    let state = engine.swarm_state().await.to_api()?;
    if !state.active {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this engine is not part of a swarm: run `berth swarm init` (or join one) first",
        ));
    }
    if !state.manager {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this engine is a swarm worker: run this on a manager",
        ));
    }
    Ok(state)
}

/// What the Swarm page shows at once: where the engine stands and, on a manager, the nodes,
/// services (with running and desired tasks) and stacks.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SwarmOverview {
    pub state: SwarmState,
    pub nodes: Vec<NodeSummary>,
    pub services: Vec<ServiceSummary>,
    pub stacks: Vec<stack::StackSummary>,
}

pub async fn overview(engine: &Engine) -> Result<SwarmOverview, ApiError> {
    let state = engine.swarm_state().await.to_api()?;
    if !(state.active && state.manager) {
        return Ok(SwarmOverview {
            state,
            nodes: Vec::new(),
            services: Vec::new(),
            stacks: Vec::new(),
        });
    }
    Ok(SwarmOverview {
        nodes: engine.list_nodes().await.to_api()?,
        services: engine.list_services(None).await.to_api()?,
        stacks: stack::list(engine).await?,
        state,
    })
}

pub async fn status(engine: &Engine) -> Result<SwarmState, ApiError> {
    engine.swarm_state().await.to_api()
}

/// `docker swarm init`; an empty `advertise_addr` lets the engine choose. Returns the node id.
pub async fn init(engine: &Engine, advertise_addr: Option<&str>) -> Result<String, ApiError> {
    let state = engine.swarm_state().await.to_api()?;
    if state.active {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this engine is already part of a swarm: leave it first (`berth swarm leave`)",
        ));
    }
    let labels = Default::default();
    engine
        .swarm_init(advertise_addr.unwrap_or(""), &labels)
        .await
        .to_api()
}

/// `join` checked before the engine sees it: a token that is not a swarm join token is
/// refused, and a manager address without a port gets swarm's 2377.
pub fn checked_join(join: &SwarmJoin) -> Result<SwarmJoin, ApiError> {
    let bad = |m: String| Err(ApiError::new(ErrorCode::InvalidInput, m));
    let token = join.token.trim();
    if !token.starts_with("SWMTKN-1-") {
        return bad(
            "the join token must be a swarm join token (SWMTKN-1-...), as `berth swarm join-token` prints it on a manager".into(),
        );
    }
    let addr = join.remote_addr.trim();
    if addr.is_empty() || addr.contains(char::is_whitespace) {
        return bad(format!(
            "invalid manager address {addr:?}: expected HOST or HOST:PORT"
        ));
    }
    let has_port = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.ends_with(':') && port.parse::<u16>().is_ok());
    Ok(SwarmJoin {
        remote_addr: if has_port {
            addr.to_string()
        } else {
            format!("{addr}:2377")
        },
        token: token.to_string(),
        ..join.clone()
    })
}

pub async fn join(engine: &Engine, join: &SwarmJoin) -> Result<(), ApiError> {
    let join = &checked_join(join)?;
    let state = engine.swarm_state().await.to_api()?;
    if state.active {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this engine is already part of a swarm: leave it first (`berth swarm leave`)",
        ));
    }
    engine.swarm_join(join).await.to_api().map_err(|e| {
        ApiError::new(
            e.code,
            format!(
                "joining the swarm at {} failed: {}",
                join.remote_addr, e.message
            ),
        )
    })
}

pub async fn join_tokens(engine: &Engine) -> Result<JoinTokens, ApiError> {
    require_manager(engine).await?;
    engine.swarm_join_tokens().await.to_api()
}

pub async fn leave(engine: &Engine, force: bool) -> Result<(), ApiError> {
    let state = engine.swarm_state().await.to_api()?;
    if !state.active {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this engine is not part of a swarm",
        ));
    }
    engine.swarm_leave(force).await.to_api()
}

pub async fn nodes(engine: &Engine) -> Result<Vec<NodeSummary>, ApiError> {
    require_manager(engine).await?;
    engine.list_nodes().await.to_api()
}

pub async fn set_availability(
    engine: &Engine,
    node: &str,
    availability: Availability,
) -> Result<(), ApiError> {
    require_manager(engine).await?;
    engine
        .set_node_availability(node, availability)
        .await
        .to_api()
}

pub async fn services(engine: &Engine) -> Result<Vec<ServiceSummary>, ApiError> {
    require_manager(engine).await?;
    engine.list_services(None).await.to_api()
}

/// The service's tasks (`docker service ps`), the service checked first so a wrong name is
/// an error rather than an empty list.
pub async fn tasks(engine: &Engine, service: &str) -> Result<Vec<TaskSummary>, ApiError> {
    require_manager(engine).await?;
    engine.inspect_service(service).await.to_api()?;
    engine.service_tasks(service).await.to_api()
}

/// `SERVICE=N` as a pair; anything else is an error naming the argument.
pub fn parse_scale(arg: &str) -> Result<(String, u64), ApiError> {
    let bad = || {
        ApiError::new(
            ErrorCode::InvalidInput,
            format!("invalid scale specifier {arg:?}: expected SERVICE=REPLICAS, e.g. web=5"),
        )
    };
    let (name, n) = arg.split_once('=').ok_or_else(bad)?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if name.trim().is_empty() {
        return Err(bad());
    }
    Ok((name.trim().to_string(), n))
}

/// Sets each service's replicas (`docker service scale web=5 api=2`). A global service is an
/// error naming it; the others are still scaled.
pub async fn scale(engine: &Engine, targets: &[(String, u64)]) -> Result<Vec<String>, ApiError> {
    require_manager(engine).await?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for (name, replicas) in targets {
        match engine.scale_service(name, *replicas).await.to_api() {
            Ok(()) => done.push(format!("{name} scaled to {replicas}")),
            Err(e) => failed.push(e.message),
        }
    }
    if failed.is_empty() {
        Ok(done)
    } else {
        let mut message = failed.join("\n");
        if !done.is_empty() {
            message = format!("{}\n{message}", done.join("\n"));
        }
        Err(ApiError::new(ErrorCode::InvalidInput, message))
    }
}

pub async fn update_image(engine: &Engine, service: &str, image: &str) -> Result<(), ApiError> {
    require_manager(engine).await?;
    engine.update_service_image(service, image).await.to_api()
}

pub async fn rollback(engine: &Engine, service: &str) -> Result<(), ApiError> {
    require_manager(engine).await?;
    engine.rollback_service(service).await.to_api()
}

pub async fn remove_service(engine: &Engine, service: &str) -> Result<(), ApiError> {
    require_manager(engine).await?;
    engine.remove_service(service).await.to_api()
}

/// Creates a secret or config from bytes (text typed in, or a file's); returns its id.
pub async fn create_object(
    engine: &Engine,
    kind: SwarmObjectKind,
    name: &str,
    data: &[u8],
) -> Result<String, ApiError> {
    require_manager(engine).await?;
    engine
        .create_swarm_object(kind, name, data, &Default::default())
        .await
        .to_api()
}

pub async fn objects(engine: &Engine, kind: SwarmObjectKind) -> Result<Vec<SwarmObject>, ApiError> {
    require_manager(engine).await?;
    engine.list_swarm_objects(kind, None).await.to_api()
}

/// Removes a secret or config; one a service uses is refused, naming the services.
pub async fn remove_object(
    engine: &Engine,
    kind: SwarmObjectKind,
    name: &str,
) -> Result<(), ApiError> {
    require_manager(engine).await?;
    let mut users = Vec::new();
    for s in engine.list_services(None).await.to_api()? {
        let (secrets, configs) = engine.service_file_names(&s.id).await.to_api()?;
        let used = match kind {
            SwarmObjectKind::Secret => secrets,
            SwarmObjectKind::Config => configs,
        };
        if used.iter().any(|u| u == name) {
            users.push(s.name);
        }
    }
    if !users.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "{kind} {name} is in use by service {}: remove it from the service first",
                users.join(", ")
            ),
        ));
    }
    engine.remove_swarm_object(kind, name).await.to_api()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_needs_a_swarm_token_and_gets_the_default_port() {
        let join = |addr: &str, token: &str| SwarmJoin {
            remote_addr: addr.into(),
            token: token.into(),
            ..Default::default()
        };
        let ok = checked_join(&join("192.168.1.20", " SWMTKN-1-abc ")).unwrap();
        assert_eq!(ok.remote_addr, "192.168.1.20:2377");
        assert_eq!(ok.token, "SWMTKN-1-abc");
        let ok = checked_join(&join("m.local:2400", "SWMTKN-1-abc")).unwrap();
        assert_eq!(ok.remote_addr, "m.local:2400");
        let e = checked_join(&join("m.local", "letmein")).unwrap_err();
        assert!(e.message.contains("SWMTKN-1-"), "{}", e.message);
        assert!(checked_join(&join("", "SWMTKN-1-abc")).is_err());
    }

    #[test]
    fn scale_arguments_are_service_equals_count() {
        assert_eq!(parse_scale("web=5").unwrap(), ("web".to_string(), 5));
        for bad in ["web", "web=", "=3", "web=-1", "web=x"] {
            let e = parse_scale(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidInput);
            assert!(e.message.contains(bad), "{}", e.message);
        }
    }
}
