//! E-mail delivery against a real SMTP server: aiosmtpd (PyPI), started
//! per test on a free loopback port with the handler in `smtp_sink.py`,
//! which writes every message it accepts to a folder of the test's own and
//! refuses one address with a permanent 550. The sender is called
//! directly: no ledger, no event stream.
//!
//! aiosmtpd comes from PyPI; `scripts/test` installs it into
//! `~/.cache/adpulse/aiosmtpd-venv` (or set `ADPULSE_AIOSMTPD_PYTHON` to a
//! Python that has it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adpulse_alerter::deliver::email::Mailer;
use adpulse_alerter::deliver::next_step;
use adpulse_alerter::deliver::send::{SendError, Sender};
use adpulse_config::AlertsConfig;
use adpulse_domain::TenantId;
use adpulse_domain::alert::ChannelKind;
use adpulse_domain::alert::ledger::{DeliveryRecord, DeliveryStatus, DueDelivery, NextStep};
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

/// The address `smtp_sink.Sink` refuses.
const UNKNOWN: &str = "nobody@example.com";

fn python() -> String {
    std::env::var("ADPULSE_AIOSMTPD_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/adpulse/aiosmtpd-venv/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

fn install_hint() -> &'static str {
    "run scripts/test (it installs it), or python3 -m venv ~/.cache/adpulse/aiosmtpd-venv && \
     ~/.cache/adpulse/aiosmtpd-venv/bin/pip install aiosmtpd==1.4.6"
}

/// A port nothing listens on (bound, then let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// aiosmtpd on 127.0.0.1, killed and its folder removed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    folder: PathBuf,
}

impl SmtpServer {
    async fn start() -> Self {
        let program = python();
        assert!(
            Path::new(&program).exists(),
            "aiosmtpd's Python not found at {program}: {}",
            install_hint()
        );
        let folder = std::env::temp_dir().join(format!("adpulse_smtp_{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&folder).expect("the mail folder");
        let log = std::fs::File::create(folder.join("server.log")).expect("the server log");
        let port = free_port();
        let child = Command::new(&program)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "smtp_sink.Sink"])
            .arg(&folder)
            .arg(UNKNOWN)
            .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/tests"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the server log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program} -m aiosmtpd: {e}; {}", install_hint()));
        let mut server = Self {
            child,
            port,
            folder,
        };
        server.wait_until_listening().await;
        server
    }

    async fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("the server's status") {
                panic!(
                    "aiosmtpd exited ({status}): {}\n{}",
                    self.log(),
                    install_hint()
                );
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd is not listening on 127.0.0.1:{} after 15 s: {}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.folder.join("server.log")).unwrap_or_default()
    }

    /// The messages received so far, in order (the handler writes each
    /// before it answers 250, so an accepted message is already here).
    fn received(&self) -> Vec<Value> {
        (1..)
            .map(|n| self.folder.join(format!("{n}.json")))
            .take_while(|p| p.exists())
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("a received message");
                serde_json::from_str(&text).expect("the handler's JSON")
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn config(port: u16) -> AlertsConfig {
    AlertsConfig {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        request_timeout_ms: 5_000,
        max_attempts: 5,
        ..AlertsConfig::default()
    }
}

fn sender(cfg: &AlertsConfig) -> Sender {
    let mailer = Mailer::from_config(cfg).expect("the mailer");
    assert!(mailer.is_some() == cfg.smtp_url.is_some());
    Sender::new(Duration::from_millis(cfg.request_timeout_ms), false, mailer).expect("the sender")
}

/// A firing of "CPM above 5 EUR" on "Spring sale", to `target`, shaped as
/// the evaluator writes it.
fn firing(target: &str) -> DueDelivery {
    let now = Utc::now();
    let (firing, rule, campaign) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let tenant = Uuid::now_v7();
    let payload = json!({
        "type": "alert.fired",
        "timestamp": "2026-03-02T10:15:00.000Z",
        "data": {
            "firing_id": firing,
            "tenant_id": tenant,
            "rule": {"id": rule, "name": "CPM above 5 EUR"},
            "campaign": {"id": campaign, "name": "Spring sale", "brand_id": "acme-shoes"},
            "state": "firing",
            "message": "CPM is 6.20 EUR today on Spring sale (limit 5.00 EUR).",
            "values": [
                {"metric": "cpm", "over": "today", "op": ">", "threshold": 5_000_000.0, "value": 6_200_000.0},
                {"metric": "ctr", "over": "last_15m", "op": "<", "threshold": 0.5, "value": null}
            ]
        }
    });
    DueDelivery {
        delivery: DeliveryRecord {
            id: Uuid::now_v7(),
            firing,
            rule,
            channel: Uuid::now_v7(),
            tenant: TenantId::from_uuid(tenant),
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            last_error: None,
            payload,
            created_at: now,
            updated_at: now,
        },
        kind: ChannelKind::Email,
        target: target.to_owned(),
        secrets: Vec::new(),
    }
}

#[tokio::test]
async fn an_alert_arrives_as_one_e_mail_named_after_its_delivery() {
    let server = SmtpServer::start().await;
    let cfg = config(server.port);
    let sender = sender(&cfg);
    let d = firing("ops@example.com");

    let sent = sender.send(&d, Utc::now().timestamp()).await;
    assert!(matches!(sent, Ok(None)), "{sent:?}\n{}", server.log());
    assert_eq!(next_step(&cfg, &sent, 1), NextStep::Sent);

    let got = server.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    let id = d.delivery.id.to_string();
    assert_eq!(m["mail_from"], "alerts@adpulse.invalid");
    assert_eq!(m["rcpt_tos"], json!(["ops@example.com"]));
    let h = &m["headers"];
    assert_eq!(h["From"], "adpulse alerts <alerts@adpulse.invalid>");
    assert_eq!(h["To"], "ops@example.com");
    assert_eq!(
        h["Subject"],
        "[adpulse] firing: CPM above 5 EUR — Spring sale"
    );
    assert_eq!(h["Message-ID"], format!("<{id}@adpulse.invalid>"));
    assert_eq!(h["X-Adpulse-Delivery-Id"], id);
    assert_eq!(h["Auto-Submitted"], "auto-generated");
    assert_eq!(m["content_type"], "text/plain");
    assert_eq!(m["charset"], "utf-8");
    let body = m["body"].as_str().expect("a text body");
    for line in [
        "CPM is 6.20 EUR today on Spring sale (limit 5.00 EUR).",
        "Rule: CPM above 5 EUR",
        "Campaign: Spring sale",
        "State: firing",
        "  cpm over today > 5000000: 6200000",
        "  ctr over last_15m < 0.5: undefined",
    ] {
        assert!(body.contains(line), "{line:?} not in:\n{body}");
    }

    // A retry (the first attempt not recorded) is the same message again.
    let again = sender.send(&d, Utc::now().timestamp()).await;
    assert!(again.is_ok(), "{again:?}");
    let got = server.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["headers"]["Message-ID"], h["Message-ID"]);
}

#[tokio::test]
async fn a_mailbox_the_server_refuses_is_a_dead_letter_at_once() {
    let server = SmtpServer::start().await;
    let cfg = config(server.port);
    let sent = sender(&cfg).send(&firing(UNKNOWN), 0).await;
    match &sent {
        Err(SendError::Rejected(e)) => assert!(e.contains("550"), "{e}"),
        other => panic!(
            "expected a permanent refusal, got {other:?}\n{}",
            server.log()
        ),
    }
    assert_eq!(sent.as_ref().err().and_then(SendError::status), None);
    assert_eq!(next_step(&cfg, &sent, 1), NextStep::Dead, "not retried");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn no_server_listening_is_retried() {
    let cfg = config(free_port());
    let sent = sender(&cfg).send(&firing("ops@example.com"), 0).await;
    assert!(matches!(sent, Err(SendError::Transport(_))), "{sent:?}");
    assert!(matches!(next_step(&cfg, &sent, 1), NextStep::RetryAt(_)));
    assert_eq!(
        next_step(&cfg, &sent, 5),
        NextStep::Dead,
        "until the last attempt"
    );
}

#[tokio::test]
async fn without_a_relay_e_mail_is_refused_saying_so() {
    let cfg = AlertsConfig::default();
    let sent = sender(&cfg).send(&firing("ops@example.com"), 0).await;
    match &sent {
        Err(SendError::Refused(e)) => assert!(e.contains("alerts.smtp_url"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(next_step(&cfg, &sent, 1), NextStep::Dead);
}
