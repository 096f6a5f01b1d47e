//! E-mail delivery: one plain-text message per delivery, sent through the
//! operator's SMTP relay (`alerts.smtp_url`) with lettre.
//!
//! The relay is the operator's, not a tenant's, so it is not checked
//! against SSRF; the recipient is the channel's address, checked when the
//! channel was written and parsed again here.
//!
//! The `Message-ID` is made from the delivery id, as `webhook-id` is for
//! webhooks: a retry after an attempt that reached the relay but was not
//! recorded carries the same one, and a receiver can drop the duplicate.
//!
//! Outcomes: a 5xx answer (no such mailbox, refused by policy) will not
//! change on a retry and is [`SendError::Rejected`]; a 4xx answer, a
//! connection, TLS or protocol failure and the time limit are
//! [`SendError::Transport`], retried with backoff. No connection pool:
//! alerts are few, and a fresh connection per delivery keeps one failing
//! attempt from poisoning the next.

use std::time::Duration;

use adpulse_config::{AlertsConfig, SmtpTls};
use adpulse_domain::alert::ledger::DueDelivery;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use super::send::SendError;

/// The header that names the delivery (the `Message-ID` does too, in
/// the form mail software expects).
pub const DELIVERY_ID_HEADER: &str = "X-Adpulse-Delivery-Id";

/// Sends alert e-mails through one SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl Mailer {
    /// The mailer `cfg` describes (`alerts.smtp_url` and its credentials,
    /// `alerts.mail_from`, `alerts.request_timeout_ms` per delivery), or
    /// `None` when no relay is configured.
    pub fn from_config(cfg: &AlertsConfig) -> Result<Option<Self>, String> {
        let Some(relay) = cfg
            .smtp_relay()
            .map_err(|e| format!("alerts.smtp_url {e}"))?
        else {
            return Ok(None);
        };
        let from: Mailbox =
            cfg.mail_from.trim().parse().map_err(|e| {
                format!("alerts.mail_from {:?} is not a mailbox: {e}", cfg.mail_from)
            })?;
        let timeout = Duration::from_millis(cfg.request_timeout_ms);
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS for the SMTP relay: {e}"))
        };
        let tls = match relay.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls(&relay.host)?),
            SmtpTls::Tls => Tls::Wrapper(tls(&relay.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
            .port(relay.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&cfg.smtp_username, &cfg.smtp_password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().clone()));
        }
        Ok(Some(Self {
            transport: builder.build(),
            from,
            timeout,
        }))
    }

    /// Sends `d` (an e-mail channel's delivery) once.
    pub async fn send(&self, d: &DueDelivery) -> Result<(), SendError> {
        let message = compose(&self.from, d)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(SendError::Rejected(format!(
                "the mail server refused it: {e}"
            ))),
            Ok(Err(e)) => Err(SendError::Transport(format!("SMTP: {e}"))),
            Err(_) => Err(SendError::Transport(format!(
                "SMTP: no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
}

/// The message for `d`, from `from` to the channel's address.
fn compose(from: &Mailbox, d: &DueDelivery) -> Result<Message, SendError> {
    let to: Address = d.target.trim().parse().map_err(|e| {
        SendError::Refused(format!(
            "the channel's address {:?} is not one: {e}",
            d.target
        ))
    })?;
    let id = d.delivery.id.to_string();
    let data = &d.delivery.payload["data"];
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(subject(data))
        .message_id(Some(format!("<{id}@{}>", from.email.domain())))
        .user_agent(concat!("adpulse-alerter/", env!("CARGO_PKG_VERSION")).to_owned())
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(DELIVERY_ID_HEADER),
            id.clone(),
        ))
        // RFC 3834: automatic, so vacation responders stay quiet.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .singlepart(SinglePart::plain(body(data, &id)))
        .map_err(|e| SendError::Refused(format!("the message cannot be built: {e}")))
}

/// A payload string field, on one line.
fn field<'a>(v: &'a Value, default: &'a str) -> String {
    v.as_str()
        .unwrap_or(default)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `[adpulse] firing: <rule> — <campaign>`.
fn subject(data: &Value) -> String {
    format!(
        "[adpulse] {}: {} — {}",
        field(&data["state"], "alert"),
        field(&data["rule"]["name"], "a rule"),
        field(&data["campaign"]["name"], "a campaign"),
    )
}

/// The rendered message, then the facts and the values seen.
fn body(data: &Value, delivery: &str) -> String {
    let mut out = String::new();
    out.push_str(data["message"].as_str().unwrap_or_default().trim_end());
    out.push_str("\n\n");
    for (label, value) in [
        ("Rule", &data["rule"]["name"]),
        ("Campaign", &data["campaign"]["name"]),
        ("State", &data["state"]),
    ] {
        out.push_str(&format!("{label}: {}\n", field(value, "?")));
    }
    let values = data["values"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !values.is_empty() {
        out.push_str("\nValues:\n");
        for v in values {
            out.push_str(&format!(
                "  {} over {} {} {}: {}\n",
                field(&v["metric"], "?"),
                field(&v["over"], "?"),
                field(&v["op"], "?"),
                number(&v["threshold"]),
                number(&v["value"]),
            ));
        }
    }
    out.push_str(&format!(
        "\n-- \nSent by adpulse (delivery {delivery}). Retries carry the same Message-ID.\n"
    ));
    out
}

/// A value as people write it: `6200`, `1.25`, or `undefined` (a ratio
/// over nothing).
fn number(v: &Value) -> String {
    match v.as_f64() {
        // Whole and within f64's exact integers: no `.0`.
        Some(x) if x.fract() == 0.0 && x.abs() < 9e15 => format!("{}", x as i64),
        Some(x) => format!("{x}"),
        None => "undefined".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use adpulse_domain::TenantId;
    use adpulse_domain::alert::ChannelKind;
    use adpulse_domain::alert::ledger::{DeliveryRecord, DeliveryStatus};
    use chrono::Utc;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn due(target: &str, payload: Value) -> DueDelivery {
        let now = Utc::now();
        DueDelivery {
            delivery: DeliveryRecord {
                id: Uuid::now_v7(),
                firing: Uuid::now_v7(),
                rule: Uuid::now_v7(),
                channel: Uuid::now_v7(),
                tenant: TenantId::from_uuid(Uuid::now_v7()),
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

    fn payload() -> Value {
        json!({"type": "alert.fired", "data": {
            "rule": {"name": "CPM too high"},
            "campaign": {"name": "Spring\r\nBcc: x@evil.example"},
            "state": "firing",
            "message": "CPM is 6.2 EUR on Spring sale",
            "values": [
                {"metric": "cpm", "over": "today", "op": ">", "threshold": 5000.0, "value": 6200.0},
                {"metric": "ctr", "over": "last_15m", "op": "<", "threshold": 0.5, "value": null}
            ]
        }})
    }

    #[test]
    fn subject_and_body_come_from_the_payload_on_safe_lines() {
        let data = &payload()["data"];
        assert_eq!(
            subject(data),
            "[adpulse] firing: CPM too high — Spring  Bcc: x@evil.example"
        );
        let text = body(data, "d-1");
        assert!(
            text.starts_with("CPM is 6.2 EUR on Spring sale\n\nRule: CPM too high\n"),
            "{text}"
        );
        assert!(text.contains("  cpm over today > 5000: 6200\n"), "{text}");
        assert!(
            text.contains("  ctr over last_15m < 0.5: undefined\n"),
            "{text}"
        );
        assert!(text.contains("delivery d-1"), "{text}");
        assert_eq!(subject(&json!({})), "[adpulse] alert: a rule — a campaign");
        assert!(!body(&json!({"message": "m"}), "d").contains("Values:"));
    }

    #[test]
    fn the_message_is_named_after_its_delivery() {
        let from: Mailbox = "adpulse alerts <alerts@adpulse.invalid>"
            .parse()
            .expect("mailbox");
        let d = due("ops@example.com", payload());
        let raw = String::from_utf8(compose(&from, &d).expect("built").formatted()).expect("utf-8");
        let id = d.delivery.id;
        assert!(
            raw.contains(&format!("Message-ID: <{id}@adpulse.invalid>\r\n")),
            "{raw}"
        );
        assert!(
            raw.contains(&format!("X-Adpulse-Delivery-Id: {id}\r\n")),
            "{raw}"
        );
        assert!(raw.contains("To: ops@example.com\r\n"), "{raw}");
        assert!(!raw.contains("\r\nBcc:"), "no header injected: {raw}");
    }

    #[test]
    fn an_address_that_is_not_one_is_refused() {
        let from: Mailbox = "alerts@adpulse.invalid".parse().expect("mailbox");
        for bad in ["", "ops", "ops@", "a b@example.com"] {
            let e = compose(&from, &due(bad, payload())).expect_err(bad);
            assert!(matches!(e, SendError::Refused(_)), "{bad}: {e:?}");
        }
    }

    #[test]
    fn no_relay_no_mailer_and_a_bad_from_is_named() {
        assert!(
            Mailer::from_config(&AlertsConfig::default())
                .expect("ok")
                .is_none()
        );
        let cfg = AlertsConfig {
            smtp_url: Some("smtp://127.0.0.1:2525".into()),
            mail_from: "not an address".into(),
            ..AlertsConfig::default()
        };
        let e = Mailer::from_config(&cfg).err().expect("refused");
        assert!(e.starts_with("alerts.mail_from"), "{e}");
    }
}
