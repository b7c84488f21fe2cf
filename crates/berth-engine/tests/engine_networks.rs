//! Networks on a real engine: create a bridge with embedded DNS, inspect attached containers,
//! connect, disconnect, remove, prune.

mod support;

use berth_engine::containers::RemoveOptions;
use berth_engine::{ErrorCode, NetworkCreate};
use support::{code_of, Env, TestResult};

#[tokio::test]
async fn user_defined_bridge_resolves_names_and_tracks_its_containers() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let net = env.name("net");
    let net_id = e
        .create_network(&NetworkCreate {
            name: net.clone(),
            subnet: Some("172.29.7.0/24".into()),
            labels: [("app".to_string(), "berth".to_string())].into(),
            ..Default::default()
        })
        .await?;
    let listed = e.list_networks().await?;
    let n = listed
        .iter()
        .find(|n| n.id == net_id)
        .ok_or("network not listed")?;
    assert_eq!(
        (n.name.as_str(), n.driver.as_str()),
        (net.as_str(), "bridge")
    );
    assert_eq!(n.subnets, ["172.29.7.0/24"]);
    assert_eq!(n.labels.get("app").map(String::as_str), Some("berth"));
    assert!(listed.iter().any(|n| n.name == "bridge"));
    assert_eq!(
        code_of(
            e.create_network(&NetworkCreate {
                name: net.clone(),
                ..Default::default()
            })
            .await
        ),
        ErrorCode::Conflict
    );

    // Two containers on the network reach each other by name and by alias.
    let server = e
        .run(&env.idle("server").network(&net).network_alias("db"))
        .await?;
    let client_spec = env.idle("client").network(&net);
    let client = e.run(&client_spec).await?;
    let server_name = e.inspect_container(&server).await?.name.unwrap_or_default();
    let server_name = server_name.trim_start_matches('/').to_string();
    for target in [server_name.as_str(), "db"] {
        let (code, out) = env
            .exec(&client, &["ping", "-c", "1", "-W", "5", target])
            .await?;
        assert_eq!(code, 0, "ping {target}: {out}");
        assert!(
            out.contains("172.29.7."),
            "{target} resolved outside the network: {out}"
        );
    }

    let inspected = e.inspect_network(&net).await?;
    let mut ids: Vec<&str> = inspected
        .containers
        .iter()
        .map(|c| c.container_id.as_str())
        .collect();
    ids.sort();
    let mut expected = vec![server.as_str(), client.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(inspected
        .containers
        .iter()
        .all(|c| c.ipv4_address.starts_with("172.29.7.")));

    // Connect a container from the default bridge with an alias, then disconnect it.
    let outsider = e.run(&env.idle("outsider")).await?;
    e.connect_network(&net, &outsider, &["cache".to_string()])
        .await?;
    let (code, out) = env
        .exec(&client, &["ping", "-c", "1", "-W", "5", "cache"])
        .await?;
    assert_eq!(code, 0, "ping cache: {out}");
    assert_eq!(e.inspect_network(&net).await?.containers.len(), 3);
    e.disconnect_network(&net, &outsider, false).await?;
    assert_eq!(e.inspect_network(&net).await?.containers.len(), 2);
    assert_eq!(
        code_of(e.disconnect_network(&net, "no-such-container", false).await),
        ErrorCode::NotFound
    );

    // In use: removal fails; once empty, remove works; prune removes unused networks.
    assert_eq!(code_of(e.remove_network(&net).await), ErrorCode::Conflict);
    for id in [&server, &client, &outsider] {
        e.remove_container(
            id,
            RemoveOptions {
                force: true,
                volumes: false,
            },
        )
        .await?;
    }
    e.remove_network(&net).await?;
    assert_eq!(code_of(e.inspect_network(&net).await), ErrorCode::NotFound);
    let spare = env.name("spare");
    e.create_network(&NetworkCreate {
        name: spare.clone(),
        ..Default::default()
    })
    .await?;
    let report = e.prune_networks().await?;
    assert!(report.deleted.contains(&spare), "{report:?}");
    assert!(!report.deleted.iter().any(|n| n == "bridge"));
    Ok(())
}
