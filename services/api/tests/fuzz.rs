//! The API fuzzed from its own OpenAPI document with schemathesis: no 5xx,
//! and every response conforms to the document (status codes, content
//! types, headers, schemas), across generated, boundary and stateful
//! (link-following) cases, authenticated as a tenant admin, with the live
//! counters (Redis) and the raw-event archive (Cassandra) connected.
//!
//! schemathesis comes from PyPI; `scripts/test` installs it into
//! `~/.cache/adpulse/venv` (or set `ADPULSE_SCHEMATHESIS` to the program).

mod common;

use adpulse_domain::Role;
use common::Api;

fn schemathesis() -> String {
    std::env::var("ADPULSE_SCHEMATHESIS").unwrap_or_else(|_| {
        format!(
            "{}/.cache/adpulse/venv/bin/schemathesis",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_survives_fuzzing_from_its_own_openapi_document() {
    let program = schemathesis();
    assert!(
        std::path::Path::new(&program).exists(),
        "schemathesis not found at {program}: run scripts/test (it installs it), or \
         python3 -m venv ~/.cache/adpulse/venv && ~/.cache/adpulse/venv/bin/pip install schemathesis==4.32.5"
    );
    let (live, archive) = common::live_and_archive().await;
    let api = Api::start_full(
        common::api_config(),
        Some(std::sync::Arc::new(live)),
        Some(archive),
    )
    .await;
    let token = api.token(&api.a, Role::Admin).await;
    let url = format!("{}/api/v1/openapi.json", api.url);
    let report = std::env::temp_dir().join(adpulse_testkit::unique_name("schemathesis"));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(program)
            .args(["run", &url])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_schema_conformance,response_headers_conformance,ignored_auth,\
                 use_after_free,ensure_resource_availability",
            ])
            .args([
                "--max-examples",
                "25",
                "--seed",
                "20261129",
                "--max-failures",
                "20",
            ])
            .args(["--workers", "1", "--output-truncate", "true"])
            // An event stream never ends: its own test reads it.
            .args(["--exclude-path", "/api/v1/campaigns/{id}/realtime/stream"])
            .env("SCHEMATHESIS_REPORT_DIR", &report)
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run schemathesis")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .lines()
        .skip_while(|l| !l.contains("Test cases:"))
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_owned();
    eprintln!("schemathesis: {summary}");
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(summary.contains("generated"), "no summary in:\n{stdout}");
    api.stop().await;
}
