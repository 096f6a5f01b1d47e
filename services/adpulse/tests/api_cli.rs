//! The `adpulse` binary's API side: `admin create-user` bootstraps a
//! tenant's first admin, `adpulse api` serves logins with it, refuses to
//! start without a signing key, and stops cleanly on SIGTERM.

use adpulse_domain::ports::prelude::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adpulse_config::{CqlConfig, PostgresConfig, Secret};
use adpulse_domain::TenantId;
use adpulse_postgres::Database;
use adpulse_testkit::{Server, unique_name};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const SECRET: &str = "cli-test-secret-cli-test-secret-012345";

/// The binary on this test's own Postgres schema, CQL keyspace and Redis
/// key prefix, with no signing key or password from the caller's
/// environment.
fn adpulse(pg: &PostgresConfig, schema: &str, own: &Own) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_adpulse"));
    c.env("ADPULSE__POSTGRES__URL", pg.url.expose())
        .env("ADPULSE__POSTGRES__SCHEMA", schema)
        .env("ADPULSE__CQL__NODES", format!("[\"{}\"]", own.cql_node))
        .env("ADPULSE__CQL__KEYSPACE", &own.keyspace)
        .env("ADPULSE__REDIS__URL", &own.redis_url)
        .env("ADPULSE__REDIS__KEY_PREFIX", &own.keyspace)
        .env("ADPULSE__TELEMETRY__LOG_FILTER", "warn")
        .env_remove("ADPULSE__API__JWT_SECRET")
        .env_remove("ADPULSE_PASSWORD");
    c
}

/// What the test creates on the CQL and Redis servers for itself.
struct Own {
    cql_node: String,
    keyspace: String,
    redis_url: String,
}

/// Runs the binary with `args` and only `env` (nothing of the caller's
/// `ADPULSE*` environment); its exit code and stderr.
fn run_bare(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_adpulse"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ADPULSE") {
            c.env_remove(k);
        }
    }
    let out = c
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A configuration problem is reported before anything connects: with
/// every backend pointing at a closed port (which would fail at once if
/// tried), the only complaint is the missing signing key, and the exit
/// code says "configuration" (2), not "failed while running" (1).
#[test]
fn configuration_is_checked_before_any_connection() {
    let dead = [
        ("ADPULSE__POSTGRES__URL", "postgres://x:y@127.0.0.1:1/none"),
        ("ADPULSE__CQL__NODES", "[\"127.0.0.1:1\"]"),
        ("ADPULSE__REDIS__URL", "redis://127.0.0.1:1"),
        ("ADPULSE__KAFKA__BROKERS", "127.0.0.1:1"),
        ("ADPULSE__API__LISTEN", "127.0.0.1:0"),
    ];
    let (code, stderr) = run_bare(&["api"], &dead);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("ADPULSE__API__JWT_SECRET"), "{stderr}");
    assert!(stderr.contains("(1 problem)"), "{stderr}");
    assert!(
        !stderr.contains("connecting"),
        "nothing was tried: {stderr}"
    );

    // Every problem at once, in every subcommand that runs a service.
    let mut bad = dead.to_vec();
    bad.extend([
        ("ADPULSE__KAFKA__COMPRESSION", "brotli"),
        ("ADPULSE__CQL__KEYSPACE", "not-a-keyspace"),
        ("ADPULSE__API__JWT_SECRET", "too short"),
    ]);
    for sub in ["api", "gateway", "worker", "migrate"] {
        let (code, stderr) = run_bare(&[sub], &bad);
        assert_eq!(code, Some(2), "{sub}: {stderr}");
        assert!(stderr.contains("3 problems"), "{sub}: {stderr}");
        for var in [
            "ADPULSE__KAFKA__COMPRESSION",
            "ADPULSE__CQL__KEYSPACE",
            "ADPULSE__API__JWT_SECRET",
        ] {
            assert!(stderr.contains(var), "{sub} names {var}: {stderr}");
        }
        assert!(
            !stderr.contains("too short"),
            "a secret is never printed: {stderr}"
        );
    }
}

/// POSTs `body` as JSON to `addr` over plain HTTP/1.1; the status and body.
async fn post(addr: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn bootstrap_an_admin_and_log_in_through_the_binary() {
    let schema = unique_name("cli");
    let pg = PostgresConfig {
        url: Secret::new(Server::Postgres.require()),
        schema: Some(schema.clone()),
        ..PostgresConfig::default()
    };
    let db = Database::connect(&pg)
        .await
        .unwrap_or_else(|e| Server::Postgres.absent(&e.to_string()));
    db.migrate().await.expect("migrate");
    let tenant = db.create_tenant("cli").await.expect("tenant");
    // The API also reads the raw-event archive and the live counters: a
    // keyspace and a key prefix of this test's own.
    let own = Own {
        cql_node: Server::Cql.require(),
        keyspace: schema.clone(),
        redis_url: Server::Redis.require(),
    };
    let cql = adpulse_cql::Cql::connect(&CqlConfig {
        nodes: vec![own.cql_node.clone()],
        keyspace: own.keyspace.clone(),
        ..CqlConfig::default()
    })
    .await
    .unwrap_or_else(|e| Server::Cql.absent(&e.to_string()));
    cql.migrate(1).await.expect("cql schema");
    create_user_needs_a_long_password(&pg, &schema, &own, tenant);
    api_refuses_to_start_without_a_signing_key(&pg, &schema, &own);
    api_logs_in_and_exits_cleanly_on_sigterm(&pg, &schema, &own).await;
    db.drop_schema().await.expect("cleanup");
    cql.drop_keyspace().await.expect("cleanup");
}

/// `admin create-user` takes a long enough password from the environment
/// and prints the new user's id.
fn create_user_needs_a_long_password(
    pg: &PostgresConfig,
    schema: &str,
    own: &Own,
    tenant: TenantId,
) {
    // create-user: the password comes from the environment, and must be long.
    let create = |password: Option<&str>| {
        let mut c = adpulse(pg, schema, own);
        c.args(["admin", "create-user", "--tenant", &tenant.to_string()])
            .args(["--email", "first@cli.example", "--role", "admin"]);
        if let Some(p) = password {
            c.env("ADPULSE_PASSWORD", p);
        }
        c.output().expect("run")
    };
    let none = create(None);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("ADPULSE_PASSWORD"));
    let short = create(Some("short"));
    assert!(!short.status.success());
    let made = create(Some("a long enough password"));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let id = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    assert!(id.parse::<uuid::Uuid>().is_ok(), "prints the user id: {id}");
}

/// `adpulse api` without a signing key does not start, and says why.
fn api_refuses_to_start_without_a_signing_key(pg: &PostgresConfig, schema: &str, own: &Own) {
    // Without a signing key the API does not start, and says why.
    let refused = adpulse(pg, schema, own)
        .arg("api")
        .env("ADPULSE__API__LISTEN", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ADPULSE__API__JWT_SECRET"));
}

/// The API started by the binary logs the new user in and exits cleanly on
/// SIGTERM.
async fn api_logs_in_and_exits_cleanly_on_sigterm(pg: &PostgresConfig, schema: &str, own: &Own) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut api = adpulse(pg, schema, own)
        .arg("api")
        .env("ADPULSE__API__LISTEN", &addr)
        .env("ADPULSE__API__JWT_SECRET", SECRET)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(&addr).await.is_err() {
        assert!(Instant::now() < deadline, "api did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = post(
        &addr,
        "/api/v1/auth/login",
        r#"{"email":"first@cli.example","password":"a long enough password"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("access_token") && body.contains("refresh_token"));

    // SIGTERM: a clean exit.
    let pid = api.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let code = api.wait().expect("wait");
    assert!(code.success(), "{code:?}");
}
