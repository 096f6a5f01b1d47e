//! Structural checks of `docker-compose.yml`. No Docker engine runs where the
//! suite runs, so the file is validated as data: it parses, every service is
//! health-checked (or says why it cannot be) and pinned to a version, no two
//! services claim a host port, and every named volume is declared.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compose() -> Yaml {
    let text = std::fs::read_to_string(root().join("docker-compose.yml"))
        .expect("docker-compose.yml is readable");
    let mut docs = YamlLoader::load_from_str(&text).expect("docker-compose.yml is valid YAML");
    assert_eq!(docs.len(), 1, "one YAML document");
    docs.remove(0)
}

fn services(doc: &Yaml) -> BTreeMap<String, Yaml> {
    doc["services"]
        .as_hash()
        .expect("a services mapping")
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().expect("service names are strings").to_owned(),
                v.clone(),
            )
        })
        .collect()
}

/// `repo:tag` with a concrete version: a tag that is not `latest` and has a digit.
fn pinned(image: &str) -> bool {
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.split_once(':') {
        Some((_, tag)) => tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()),
        None => false,
    }
}

#[test]
fn the_production_stack_is_all_there() {
    let names: BTreeSet<_> = services(&compose()).into_keys().collect();
    for needed in ["kafka", "scylla", "postgres", "redis"] {
        assert!(
            names.contains(needed),
            "service {needed} missing from docker-compose.yml"
        );
    }
}

/// One-shot jobs (`restart: "no"`) run to completion; others wait for them
/// with `service_completed_successfully` instead of a health check.
fn is_job(svc: &Yaml) -> bool {
    svc["restart"].as_str() == Some("no")
}

/// A service whose image has nothing to run a check with, saying so (the
/// label `adpulse.no-healthcheck` gives the reason; composecheck also
/// requires that nothing depends on it).
fn excused(svc: &Yaml) -> bool {
    svc["labels"]["adpulse.no-healthcheck"]
        .as_str()
        .is_some_and(|why| !why.trim().is_empty())
}

#[test]
fn every_service_has_a_health_check() {
    for (name, svc) in services(&compose()) {
        if is_job(&svc) || excused(&svc) {
            continue;
        }
        let test = &svc["healthcheck"]["test"];
        let ok = match test {
            Yaml::Array(a) => a.len() >= 2,
            Yaml::String(s) => !s.trim().is_empty(),
            _ => false,
        };
        assert!(ok, "service {name} has no healthcheck.test");
    }
}

#[test]
fn every_image_is_pinned_to_a_version() {
    for (name, svc) in services(&compose()) {
        let image = svc["image"]
            .as_str()
            .unwrap_or_else(|| panic!("service {name} names no image"));
        assert!(
            pinned(image),
            "service {name}: image {image} is not pinned to a version"
        );
        if let Some(ctx) = svc["build"].as_str() {
            let dockerfile = std::fs::read_to_string(root().join(ctx).join("Dockerfile"))
                .unwrap_or_else(|e| panic!("service {name}: no Dockerfile in {ctx}: {e}"));
            for line in dockerfile
                .lines()
                .filter(|l| l.trim_start().starts_with("FROM "))
            {
                let base = line.split_whitespace().nth(1).unwrap_or_default();
                assert!(
                    pinned(base),
                    "service {name}: base image {base} is not pinned"
                );
            }
        }
    }
}

#[test]
fn no_two_services_claim_a_host_port() {
    let mut claimed = BTreeMap::new();
    for (name, svc) in services(&compose()) {
        for port in svc["ports"].as_vec().into_iter().flatten() {
            let spec = port
                .as_str()
                .unwrap_or_else(|| panic!("service {name}: write ports as quoted strings"));
            let parts: Vec<_> = spec.split(':').collect();
            // "container", "host:container" or "ip:host:container"
            let host = match parts.len() {
                2 => format!("0.0.0.0:{}", parts[0]),
                3 => format!("{}:{}", parts[0], parts[1]),
                _ => continue,
            };
            if let Some(other) = claimed.insert(host.clone(), name.clone()) {
                panic!("host port {host} claimed by both {other} and {name}");
            }
        }
    }
    assert!(
        !claimed.is_empty(),
        "the stack publishes its ports for local tools"
    );
}

#[test]
fn named_volumes_are_declared() {
    let doc = compose();
    let declared: BTreeSet<String> = doc["volumes"]
        .as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for (name, svc) in services(&doc) {
        for v in svc["volumes"].as_vec().into_iter().flatten() {
            let source = v
                .as_str()
                .and_then(|s| s.split(':').next())
                .unwrap_or_default();
            let is_path = source.starts_with('.') || source.starts_with('/');
            assert!(
                is_path || declared.contains(source),
                "service {name}: volume {source} is not declared"
            );
        }
    }
}

#[test]
fn dependencies_exist_and_wait_properly() {
    let all = services(&compose());
    for (name, svc) in &all {
        let Some(deps) = svc["depends_on"].as_hash() else {
            continue;
        };
        for (dep, cond) in deps {
            let dep = dep.as_str().expect("service name");
            let target = all
                .get(dep)
                .unwrap_or_else(|| panic!("{name} depends on unknown service {dep}"));
            let want = if is_job(target) {
                "service_completed_successfully"
            } else {
                "service_healthy"
            };
            assert_eq!(cond["condition"].as_str(), Some(want), "{name} -> {dep}");
        }
    }
}

#[test]
fn the_gateway_runs_replicated_behind_the_balancer() {
    let all = services(&compose());
    let gw = &all["gateway"];
    assert!(
        gw["deploy"]["replicas"].as_i64().unwrap_or(1) >= 2,
        "two gateway replicas"
    );
    assert!(
        gw["ports"].is_badvalue(),
        "replicas publish no host port; the balancer does"
    );
    let conf = std::fs::read_to_string(root().join("deploy/docker/nginx/gateway.conf"))
        .expect("balancer config");
    assert!(
        conf.contains("server gateway:8080"),
        "the balancer forwards to the gateway service"
    );
}

#[test]
fn workers_run_replicated() {
    let all = services(&compose());
    assert!(
        all["worker"]["deploy"]["replicas"].as_i64().unwrap_or(1) >= 2,
        "two stream workers"
    );
}

#[test]
fn pinning_rule() {
    assert!(pinned("apache/kafka:4.4.0"));
    assert!(pinned("registry.example.com:5000/redis:7.4.2-bookworm"));
    assert!(!pinned("redis"));
    assert!(!pinned("redis:latest"));
    assert!(!pinned("registry.example.com:5000/redis"));
}
