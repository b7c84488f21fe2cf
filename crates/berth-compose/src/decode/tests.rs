use super::*;

#[test]
fn short_ports() {
    let p = parse_port("127.0.0.1:8080:80/udp").unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(p[0].published.as_deref(), Some("8080"));
    assert_eq!(p[0].target, 80);
    assert_eq!(p[0].protocol, "udp");
    let p = parse_port("3000").unwrap();
    assert_eq!((p[0].target, p[0].published.clone()), (3000, None));
    let p = parse_port("9090-9091:8080-8081").unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].published.as_deref(), Some("9091"));
    assert_eq!(p[1].target, 8081);
    let p = parse_port("[::1]:6000:6000").unwrap();
    assert_eq!(p[0].host_ip.as_deref(), Some("::1"));
    for bad in ["", "abc", "80:90:100:1", "1-2:3-5", "0", "80/xyz", "70000"] {
        assert!(parse_port(bad).is_none(), "{bad}");
    }
}

#[test]
fn shell_split() {
    assert_eq!(
        shell_words(r#"sh -c 'echo "a b"' x\ y "q\"z""#).unwrap(),
        vec!["sh", "-c", "echo \"a b\"", "x y", "q\"z"]
    );
    assert!(shell_words("echo 'open").is_none());
}

#[test]
fn durations_and_sizes() {
    assert_eq!(parse_duration_ns("1m30s"), Some(90_000_000_000));
    assert_eq!(parse_duration_ns("500ms"), Some(500_000_000));
    assert_eq!(parse_duration_ns("1.5s"), Some(1_500_000_000));
    assert_eq!(parse_duration_ns("10"), None);
    assert_eq!(parse_bytes("64m"), Some(64 * 1024 * 1024));
    assert_eq!(parse_bytes("1gb"), Some(1024 * 1024 * 1024));
    assert_eq!(parse_bytes("x"), None);
}

/// Loads a one-service project whose service `s` has `extra` (YAML lines at service level).
fn load_service_with(extra: &str) -> Result<crate::Project, crate::LoadError> {
    let text = format!("services:\n  s:\n    image: x\n{extra}");
    crate::load_sources(
        vec![("/proj/compose.yaml".into(), text)],
        &crate::LoadOptions {
            working_dir: "/proj".into(),
            ..Default::default()
        },
    )
}

fn schema() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../tests/data/compose-spec/compose-spec.json"
    ))
    .expect("the compose-spec schema is JSON")
}

#[test]
fn every_service_key_of_the_schema_is_applied_or_refused() {
    let schema = schema();
    let keys = schema["definitions"]["service"]["properties"]
        .as_object()
        .expect("service properties");
    assert!(
        keys.len() > 80,
        "the schema lists {} service keys",
        keys.len()
    );
    let readme = include_str!("../../README.md");
    for key in keys.keys() {
        assert!(
            readme.contains(&format!("| `{key}` |")),
            "README.md's table misses `{key}`"
        );
        let result = load_service_with(&format!("    {key}: null\n"));
        let refused = REFUSED_SERVICE_KEYS.iter().find(|(k, _)| k == key);
        match (refused, result) {
            (Some((_, reason)), Err(e)) => {
                let text = e.to_string();
                assert!(
                    text.contains(reason) && text.contains(&format!("services.s.{key}")),
                    "{key}: {text}"
                );
                assert_eq!(e.line(), Some(4), "{key}: {text}");
            }
            (Some(_), Ok(_)) => panic!("{key} is listed as refused but loads"),
            (None, Err(e)) => assert!(
                !e.to_string().contains("unknown attribute"),
                "{key} is in the schema but the decoder does not know it: {e}"
            ),
            (None, Ok(_)) => {}
        }
    }
    for (key, _) in REFUSED_SERVICE_KEYS {
        assert!(
            keys.contains_key(*key),
            "{key} is refused but not in the schema"
        );
    }
}

#[test]
fn every_deploy_and_build_key_of_the_schema_is_known() {
    let schema = schema();
    let defs = &schema["definitions"];
    let deploy = defs["deployment"]["properties"].as_object().unwrap();
    for key in deploy.keys() {
        let r = load_service_with(&format!("    deploy: {{{key}: null}}\n"));
        if let Err(e) = r {
            assert!(
                !e.to_string().contains("unknown attribute"),
                "deploy.{key}: {e}"
            );
        }
    }
    let build = defs["service"]["properties"]["build"]["oneOf"][1]["properties"]
        .as_object()
        .unwrap();
    for key in build.keys() {
        let r = load_service_with(&format!("    build: {{context: ., {key}: null}}\n"));
        if let Err(e) = r {
            assert!(
                !e.to_string().contains("unknown attribute"),
                "build.{key}: {e}"
            );
        }
    }
}

#[test]
fn swarm_only_deploy_keys_load_but_are_refused_for_containers() {
    let p = load_service_with(
        "    deploy:\n      placement: {constraints: [node.role==manager]}\n      restart_policy: {condition: on-failure, max_attempts: 2, delay: 5s}\n      resources: {limits: {pids: 50}, reservations: {memory: 8m}}\n",
    )
    .unwrap();
    let s = &p.services["s"];
    assert_eq!(s.restart.as_deref(), Some("on-failure:2"));
    assert_eq!(s.pids_limit, Some(50));
    assert_eq!(s.mem_reservation.as_deref(), Some("8m"));
    let e = p.check_containers_apply(p.services.values()).unwrap_err();
    assert_eq!(e.field(), Some("services.s.deploy.placement"));
    assert_eq!(e.line(), Some(5));
    assert!(p
        .warnings
        .iter()
        .any(|w| w.contains("deploy.restart_policy.delay")));
}

#[test]
fn external_secrets_load_but_are_refused_for_containers() {
    let p = load_service_with("    secrets: [token]\nsecrets:\n  token:\n    external: true\n")
        .unwrap();
    assert!(p.secrets["token"].external);
    let e = p.check_containers_apply(p.services.values()).unwrap_err();
    assert_eq!(e.field(), Some("secrets.token.external"));
    assert_eq!(e.line(), Some(7));
}
