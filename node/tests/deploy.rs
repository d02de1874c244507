//! The deployment files hang together: the Kubernetes manifests have the structure
//! `kubectl apply` needs and their container arguments are accepted by the node; the compose
//! file and the systemd environment file describe valid nodes.

use std::path::Path;

use clap::Parser;
use raftgate::config::{Bootstrap, NodeArgs, NodeConfig};
use serde::Deserialize;
use serde_yaml_ng::Value;

fn read(rel: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::read_to_string(root.join(rel)).unwrap()
}

fn docs(rel: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(&read(rel))
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

#[test]
fn kubernetes_manifests_are_complete_and_consistent() {
    let docs = docs("deploy/kubernetes/raftgate.yaml");
    for d in &docs {
        for key in ["apiVersion", "kind", "metadata"] {
            assert!(d.get(key).is_some(), "a document lacks {key}: {d:?}");
        }
        assert!(s(d, &["metadata", "name"])
            .as_str()
            .is_some_and(|n| !n.is_empty()));
    }
    let of_kind = |k: &str| docs.iter().filter(|d| d["kind"] == k).collect::<Vec<_>>();
    let sts = of_kind("StatefulSet");
    assert_eq!(sts.len(), 1);
    let sts = sts[0];
    assert_eq!(sts["apiVersion"], "apps/v1");
    assert_eq!(s(sts, &["spec", "replicas"]).as_u64(), Some(3));
    let labels = s(sts, &["spec", "template", "metadata", "labels"])
        .as_mapping()
        .unwrap();
    let selector = s(sts, &["spec", "selector", "matchLabels"])
        .as_mapping()
        .unwrap();
    assert!(
        selector.iter().all(|(k, v)| labels.get(k) == Some(v)),
        "selector must match the pod labels"
    );

    // The headless service the StatefulSet names, publishing not-ready peers.
    let services = of_kind("Service");
    let headless = services
        .iter()
        .find(|svc| s(svc, &["metadata", "name"]) == s(sts, &["spec", "serviceName"]))
        .expect("the StatefulSet's serviceName is defined");
    assert_eq!(s(headless, &["spec", "clusterIP"]), "None");
    assert_eq!(
        s(headless, &["spec", "publishNotReadyAddresses"]).as_bool(),
        Some(true)
    );
    assert!(services.iter().any(|svc| s(svc, &["spec", "ports"])
        .as_sequence()
        .unwrap()
        .iter()
        .any(|p| p["targetPort"] == "web")));

    let container = &s(sts, &["spec", "template", "spec", "containers"])[0];
    let port_names: Vec<&str> = container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for svc in &services {
        assert_eq!(
            s(svc, &["spec", "selector"]),
            &Value::Mapping(selector.clone())
        );
        for p in s(svc, &["spec", "ports"]).as_sequence().unwrap() {
            let target = p["targetPort"].as_str().unwrap();
            assert!(
                port_names.contains(&target),
                "service port {target} is not a container port"
            );
        }
    }
    assert_eq!(
        s(container, &["readinessProbe", "httpGet", "path"]),
        "/ping"
    );
    assert!(port_names.contains(
        &s(container, &["readinessProbe", "httpGet", "port"])
            .as_str()
            .unwrap()
    ));
    let claim = s(sts, &["spec", "volumeClaimTemplates"])[0]["metadata"]["name"]
        .as_str()
        .unwrap();
    assert!(container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|m| m["name"] == claim));

    let pdb = of_kind("PodDisruptionBudget");
    assert_eq!(pdb.len(), 1);
    assert_eq!(
        s(pdb[0], &["spec", "selector", "matchLabels"]),
        &Value::Mapping(selector.clone())
    );
    assert_eq!(s(pdb[0], &["spec", "maxUnavailable"]).as_u64(), Some(1));

    // The container's arguments make valid nodes: ordinals 0-2 bootstrap, 3 joins.
    let args: Vec<String> = container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    for (pod, id) in [("raftgate-0", 1), ("raftgate-2", 3), ("raftgate-3", 4)] {
        std::env::set_var("HOSTNAME", pod);
        let argv = std::iter::once("raftgate".to_string()).chain(args.iter().cloned());
        let cfg = NodeConfig::try_from(NodeArgs::try_parse_from(argv).unwrap()).unwrap();
        assert_eq!(cfg.id, id);
        assert_eq!(
            cfg.advertise_url.unwrap(),
            format!("http://{pod}.raftgate-peers:7001")
        );
        match cfg.bootstrap {
            Bootstrap::Peers(p) => assert!(id <= 3 && p.len() == 3),
            Bootstrap::Join(urls) => assert!(id == 4 && urls.len() == 3),
            Bootstrap::None => panic!("no bootstrap for {pod}"),
        }
    }
}

#[test]
fn compose_file_defines_three_healthchecked_nodes_with_volumes() {
    let doc = &docs("deploy/compose/docker-compose.yml")[0];
    let services = doc["services"].as_mapping().unwrap();
    assert_eq!(services.len(), 3);
    for n in 1..=3 {
        let node = &doc["services"][format!("node{n}").as_str()];
        let volumes = node["volumes"].as_sequence().unwrap();
        let volume = volumes[0]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_string();
        assert!(
            doc["volumes"].get(volume.as_str()).is_some(),
            "node{n}'s volume {volume} is declared"
        );
        assert_eq!(node["environment"]["RAFTGATE_ID"], n.to_string().as_str());
        assert_eq!(node["ports"].as_sequence().unwrap().len(), 3);
    }
    // The shared node template carries the health check and the peers.
    let template = &doc["x-node"];
    let test: Vec<&str> = template["healthcheck"]["test"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(test.contains(&"healthcheck") && test.iter().any(|t| t.ends_with("/ping")));
    let peers = template["environment"]["RAFTGATE_PEERS"].as_str().unwrap();
    assert_eq!(raftgate::config::parse_peers(peers).unwrap().len(), 3);
}

#[test]
fn systemd_environment_file_describes_a_valid_node() {
    // Each RAFTGATE_* variable becomes the flag that reads it (no process-wide env changes).
    let command = <NodeArgs as clap::CommandFactory>::command();
    let mut argv = vec!["raftgate".to_string()];
    for line in read("deploy/systemd/raftgate.env").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap();
        if let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == k))
        {
            argv.push(format!("--{}={v}", arg.get_long().unwrap()));
        } else {
            assert!(!k.starts_with("RAFTGATE_"), "{k} is not a raftgate setting");
        }
    }
    let cfg = NodeConfig::try_from(NodeArgs::try_parse_from(argv).unwrap()).unwrap();
    assert_eq!(cfg.id, 1);
    assert!(matches!(cfg.bootstrap, Bootstrap::Peers(ref p) if p.len() == 3));
    assert_eq!(cfg.proxy.entrypoints[0].0, "web");
    let unit = read("deploy/systemd/raftgate.service");
    assert!(
        unit.contains("EnvironmentFile=/etc/raftgate/raftgate.env")
            && unit.contains("ExecStart=/usr/local/bin/raftgate")
    );
}
