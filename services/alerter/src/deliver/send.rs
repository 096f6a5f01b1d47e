//! Sending one delivery: over HTTP, a webhook (the payload, signed) or a
//! Slack incoming webhook (`{"text": message}`); an e-mail through the
//! SMTP relay ([`super::email`]) when one is configured.
//!
//! The client follows no redirect (a redirect could point anywhere),
//! uses no proxy from the environment, and resolves names through
//! [`Guarded`], which refuses every address a channel may not reach
//! (checked again here, after DNS, because a public name can resolve to a
//! private address); a literal address in the URL is checked before
//! sending.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use adpulse_domain::alert::ledger::DueDelivery;
use adpulse_domain::alert::{ChannelKind, check_ip};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::email::Mailer;
use super::sign::signature;

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The destination answered, but not with 2xx.
    #[error("answered {0}")]
    Status(u16),
    /// No answer: refused, reset, timed out, TLS.
    #[error("{0}")]
    Transport(String),
    /// The destination may never be reached (SSRF), or cannot be sent to.
    #[error("{0}")]
    Refused(String),
    /// The destination answered that it will never accept it (an SMTP
    /// 5xx: no such mailbox, refused by policy).
    #[error("{0}")]
    Rejected(String),
}

impl SendError {
    /// The HTTP status, if one came back.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status(s) => Some(*s),
            Self::Transport(_) | Self::Refused(_) | Self::Rejected(_) => None,
        }
    }
}

/// A name that resolves only to addresses deliveries may not reach.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Forbidden(String);

/// Resolves names, refusing private, loopback and reserved addresses
/// unless the operator allows them.
struct Guarded {
    allow_private: bool,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| check_ip(a.ip(), allow_private).is_ok())
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(Forbidden(format!(
                    "{host} resolves only to addresses deliveries may not reach ({found:?})"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Sends deliveries of every kind.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    /// `None` when no SMTP relay is configured.
    mailer: Option<Arc<Mailer>>,
}

impl Sender {
    /// A sender whose requests give up after `timeout`, sending e-mail
    /// with `mailer`.
    pub fn new(
        timeout: Duration,
        allow_private: bool,
        mailer: Option<Mailer>,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("adpulse-alerter/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(Guarded { allow_private }))
            .build()
            .map_err(|e| format!("the HTTP client: {e}"))?;
        Ok(Self {
            client,
            allow_private,
            mailer: mailer.map(Arc::new),
        })
    }

    /// Sends `d` once; the HTTP status that accepted it, if it went over
    /// HTTP.
    pub async fn send(&self, d: &DueDelivery, now_unix: i64) -> Result<Option<u16>, SendError> {
        match (d.kind, &self.mailer) {
            (ChannelKind::Email, Some(mailer)) => mailer.send(d).await.map(|()| None),
            (ChannelKind::Email, None) => Err(SendError::Refused(
                "e-mail delivery is not configured on this alerter (alerts.smtp_url)".into(),
            )),
            (ChannelKind::Webhook | ChannelKind::Slack, _) => {
                self.post(d, now_unix).await.map(Some)
            }
        }
    }

    async fn post(&self, d: &DueDelivery, now_unix: i64) -> Result<u16, SendError> {
        let url = reqwest::Url::parse(&d.target)
            .map_err(|e| SendError::Refused(format!("bad target: {e}")))?;
        if let Some(ip) = url.host_str().and_then(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .ok()
        }) {
            check_ip(ip, self.allow_private).map_err(SendError::Refused)?;
        }
        let req = match d.kind {
            ChannelKind::Webhook => {
                let body = serde_json::to_vec(&d.delivery.payload)
                    .map_err(|e| SendError::Refused(e.to_string()))?;
                let id = d.delivery.id.to_string();
                let sig = signature(&d.secrets, &id, now_unix, &body);
                self.client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("webhook-id", id)
                    .header("webhook-timestamp", now_unix.to_string())
                    .header("webhook-signature", sig)
                    .body(body)
            }
            ChannelKind::Slack => {
                let text = d.delivery.payload["data"]["message"]
                    .as_str()
                    .unwrap_or_default();
                let body = serde_json::json!({ "text": text }).to_string();
                self.client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
            }
            ChannelKind::Email => {
                return Err(SendError::Refused("an e-mail address is not a URL".into()));
            }
        };
        let resp = req.send().await.map_err(|e| {
            // A forbidden address is not retried: it stays forbidden.
            if forbidden(&e) {
                SendError::Refused(chain(&e))
            } else {
                SendError::Transport(chain(&e))
            }
        })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            Ok(status)
        } else {
            Err(SendError::Status(status))
        }
    }
}

/// Whether `e` was caused by [`Guarded`] refusing every address.
fn forbidden(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<Forbidden>().is_some() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// An error with its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
