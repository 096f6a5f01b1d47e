//! The repository's shape, checked as data (issue #17):
//!
//! - no `.rs` file under `crates/` or `services/` is longer than
//!   [`MAX_FILE_LINES`] (functions are held to 80 lines by clippy's
//!   `too_many_lines`, configured in `clippy.toml`);
//! - no service but the composition root (`services/adpulse`) names an
//!   adapter crate among the dependencies it is built with: services hold
//!   ports (`adpulse_domain::ports`), and `services/adpulse` opens the
//!   adapters and hands them over;
//! - vendor clients (rdkafka, scylla, sqlx, redis) are dependencies of
//!   their adapter crates only.
//!
//! Dev-dependencies are not checked: a test that wires a real adapter into
//! a service is a composition root of its own, and cargo never builds a
//! dev-dependency into the service itself (code outside `#[cfg(test)]`
//! cannot name it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

const MAX_FILE_LINES: usize = 600;

/// Crates that talk to an outside system or hold a port's implementations.
const ADAPTERS: [&str; 7] = [
    "adpulse-kafka",
    "adpulse-cql",
    "adpulse-postgres",
    "adpulse-redis",
    "adpulse-sqlite",
    "adpulse-embedded",
    "adpulse-backends",
];

/// Each vendor client and the crates allowed to depend on it.
const VENDORS: [(&str, &[&str]); 4] = [
    ("rdkafka", &["crates/kafka"]),
    ("scylla", &["crates/cql"]),
    ("sqlx", &["crates/postgres", "crates/sqlite"]),
    ("redis", &["crates/redis"]),
];

/// The one service allowed to open adapters.
const COMPOSITION_ROOT: &str = "services/adpulse";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The folders under `parent` (`crates`, `services`) that hold a crate.
fn members(parent: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join(parent))
        .unwrap_or_else(|e| panic!("{parent}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| {
            let name = p.file_name().expect("a folder name").to_string_lossy();
            format!("{parent}/{name}")
        })
        .collect();
    out.sort();
    out
}

fn manifest(member: &str) -> Table {
    let path = root().join(member).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{member}: {e}"));
    text.parse()
        .unwrap_or_else(|e| panic!("{member}/Cargo.toml is not valid TOML: {e}"))
}

/// `[workspace.dependencies]`: a member's `x.workspace = true` is the
/// package named there (its `package` key when renamed).
fn workspace_packages() -> BTreeMap<String, String> {
    let doc = manifest(".");
    let deps = doc
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table)
        .expect("the root manifest has [workspace.dependencies]");
    deps.iter()
        .map(|(key, spec)| (key.clone(), package_of(key, spec, None)))
        .collect()
}

/// The package a dependency entry names: its `package` key, else what the
/// workspace entry it inherits names, else its key.
fn package_of(key: &str, spec: &Value, workspace: Option<&BTreeMap<String, String>>) -> String {
    if let Some(package) = spec.get("package").and_then(Value::as_str) {
        return package.to_owned();
    }
    let inherited = spec.get("workspace").and_then(Value::as_bool) == Some(true);
    match workspace {
        Some(ws) if inherited => ws.get(key).cloned().unwrap_or_else(|| key.to_owned()),
        _ => key.to_owned(),
    }
}

/// Every package a member is built with, with the section naming it:
/// `[dependencies]` and `[build-dependencies]`, plain and under
/// `[target.'cfg(…)']`. Dev-dependencies are left out (see the module
/// docs).
fn build_dependencies(doc: &Table, ws: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut sections: Vec<(String, &Table)> = Vec::new();
    for name in ["dependencies", "build-dependencies"] {
        if let Some(t) = doc.get(name).and_then(Value::as_table) {
            sections.push((format!("[{name}]"), t));
        }
    }
    if let Some(targets) = doc.get("target").and_then(Value::as_table) {
        for (cfg, t) in targets {
            for name in ["dependencies", "build-dependencies"] {
                if let Some(t) = t.get(name).and_then(Value::as_table) {
                    sections.push((format!("[target.'{cfg}'.{name}]"), t));
                }
            }
        }
    }
    sections
        .into_iter()
        .flat_map(|(section, t)| {
            t.iter()
                .map(move |(key, spec)| (section.clone(), package_of(key, spec, Some(ws))))
        })
        .collect()
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    for dir in ["crates", "services"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut over: Vec<(usize, String)> = files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).expect("readable source");
            let lines = text.lines().count();
            let shown = path.strip_prefix(root()).unwrap_or(path).display();
            (lines > MAX_FILE_LINES).then(|| (lines, shown.to_string()))
        })
        .collect();
    over.sort_by(|a, b| b.cmp(a));
    let list: Vec<String> = over.iter().map(|(n, f)| format!("  {n:>5}  {f}")).collect();
    assert!(
        over.is_empty(),
        "{} source files are over {MAX_FILE_LINES} lines; split each by topic into a module \
         folder (see CODE_STYLE.md):\n{}",
        over.len(),
        list.join("\n")
    );
}

#[test]
fn services_name_no_adapter_crate() {
    let ws = workspace_packages();
    let services = members("services");
    assert!(
        services.iter().any(|s| s == COMPOSITION_ROOT),
        "the composition root {COMPOSITION_ROOT} is missing from {services:?}"
    );
    let mut offences = Vec::new();
    for service in services.iter().filter(|s| *s != COMPOSITION_ROOT) {
        for (section, package) in build_dependencies(&manifest(service), &ws) {
            if ADAPTERS.contains(&package.as_str()) {
                offences.push(format!("  {service}/Cargo.toml {section}: {package}"));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "services depend on ports (adpulse_domain::ports), never on an adapter crate: only \
         {COMPOSITION_ROOT} opens adapters and hands them to the services as Arc<dyn Port>. \
         Move these to that composition root (a test may list an adapter under \
         [dev-dependencies]):\n{}",
        offences.join("\n")
    );
}

#[test]
fn vendor_clients_stay_in_their_adapter_crates() {
    let ws = workspace_packages();
    let mut offences = Vec::new();
    for member in members("crates").into_iter().chain(members("services")) {
        for (section, package) in build_dependencies(&manifest(&member), &ws) {
            let allowed = VENDORS
                .iter()
                .find(|(vendor, _)| *vendor == package)
                .map(|(_, owners)| owners.contains(&member.as_str()));
            if allowed == Some(false) {
                offences.push(format!("  {member}/Cargo.toml {section}: {package}"));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "a vendor client belongs to its adapter crate ({}); everything else reaches it \
         through a port:\n{}",
        VENDORS
            .iter()
            .map(|(v, owners)| format!("{v} in {}", owners.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
        offences.join("\n")
    );
}

/// The manifest reading itself: a renamed dependency, one inherited from
/// the workspace under another key, and a target-specific one are all
/// seen by the package they name; dev-dependencies are not.
#[test]
fn dependencies_are_read_by_the_package_they_name() {
    let ws: BTreeMap<String, String> = [("store".to_owned(), "adpulse-postgres".to_owned())].into();
    let doc: Table = r#"
        [dependencies]
        log = { package = "adpulse-kafka", path = "../../crates/kafka" }
        store.workspace = true
        tokio.workspace = true

        [target.'cfg(unix)'.dependencies]
        adpulse-redis = { path = "../../crates/redis" }

        [dev-dependencies]
        adpulse-sqlite.workspace = true
    "#
    .parse()
    .expect("valid TOML");
    let mut seen: Vec<String> = build_dependencies(&doc, &ws)
        .into_iter()
        .map(|(section, package)| format!("{section} {package}"))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "[dependencies] adpulse-kafka",
            "[dependencies] adpulse-postgres",
            "[dependencies] tokio",
            "[target.'cfg(unix)'.dependencies] adpulse-redis",
        ]
    );
}
