//! The `adpulse` binary's API side: `admin create-user` bootstraps a
//! tenant's first admin, `adpulse api` serves logins with it, refuses to
//! start without a signing key, and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adpulse_config::{PostgresConfig, Secret};
use adpulse_postgres::Database;
use adpulse_testkit::{Server, unique_name};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const SECRET: &str = "cli-test-secret-cli-test-secret-012345";

fn adpulse(pg: &PostgresConfig, schema: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_adpulse"));
    c.env("ADPULSE__POSTGRES__URL", pg.url.expose())
        .env("ADPULSE__POSTGRES__SCHEMA", schema)
        .env("ADPULSE__TELEMETRY__LOG_FILTER", "warn")
        .env_remove("ADPULSE__API__JWT_SECRET")
        .env_remove("ADPULSE_PASSWORD");
    c
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

    // create-user: the password comes from the environment, and must be long.
    let create = |password: Option<&str>| {
        let mut c = adpulse(&pg, &schema);
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

    // Without a signing key the API does not start, and says why.
    let refused = adpulse(&pg, &schema)
        .arg("api")
        .env("ADPULSE__API__LISTEN", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ADPULSE__API__JWT_SECRET"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut api = adpulse(&pg, &schema)
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
    db.drop_schema().await.expect("cleanup");
}
