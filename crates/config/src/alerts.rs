//! The `[alerts]` section: how alert channels are checked and how the
//! alerter evaluates and delivers, e-mail through an SMTP relay included.
//!
//! The relay is one URL whose scheme says how the connection is protected
//! (`smtp://` plain, `smtp://…?tls=starttls`, `smtps://` TLS from the
//! first byte); its credentials are separate keys so the password can be a
//! [`Secret`] and the URL can be logged.

use serde::Deserialize;

use crate::Secret;

/// Alert rules and their notifications (the API checks channels with it;
/// `adpulse alerter` evaluates and delivers with it).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Whether channels may point at loopback, private, link-local or
    /// reserved addresses (receivers on the same network, tests). Off, a
    /// tenant cannot make adpulse call its own internals (SSRF).
    pub allow_private_destinations: bool,
    /// The alerter's `/health/*` and `/metrics`.
    pub listen: String,
    /// The alerters' consumer group on the window-result topic.
    pub group_id: String,
    /// How often the campaigns watched and their tenants' rules are read
    /// again, in bulk beside the evaluating loop (a rule or budget change
    /// takes effect within it plus one read).
    pub cache_ms: u64,
    /// How often every rule is evaluated again without a new result (a
    /// `for` duration running out, a trailing span moving on).
    pub tick_ms: u64,
    /// Attempts of one delivery before it is a dead letter.
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles (with jitter), up
    /// to `retry_max_ms`.
    pub retry_base_ms: u64,
    /// The longest delay between two attempts.
    pub retry_max_ms: u64,
    /// One delivery's time limit (connect, send, answer).
    pub request_timeout_ms: u64,
    /// Consecutive failures that open a destination's circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses before it lets one trial through.
    pub breaker_open_ms: u64,
    /// Deliveries sent at once.
    pub max_in_flight: usize,
    /// The SMTP relay e-mail channels are sent through:
    /// `smtp://host[:port]` (plain, port 25),
    /// `smtp://host[:port]?tls=starttls` (STARTTLS required, port 587) or
    /// `smtps://host[:port]` (TLS, port 465). Unset, deliveries to e-mail
    /// channels are dead letters saying so.
    pub smtp_url: Option<String>,
    /// The relay's user name (`AUTH`), with `smtp_password`.
    pub smtp_username: Option<String>,
    /// The relay's password.
    pub smtp_password: Option<Secret<String>>,
    /// The `From` of every alert e-mail: `address` or `Name <address>`.
    pub mail_from: String,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            allow_private_destinations: false,
            listen: "127.0.0.1:8083".into(),
            group_id: "adpulse-alerter".into(),
            cache_ms: 5_000,
            tick_ms: 1_000,
            max_attempts: 10,
            retry_base_ms: 5_000,
            retry_max_ms: 3_600_000,
            request_timeout_ms: 10_000,
            breaker_failures: 5,
            breaker_open_ms: 30_000,
            max_in_flight: 32,
            smtp_url: None,
            smtp_username: None,
            smtp_password: None,
            mail_from: "adpulse alerts <alerts@adpulse.invalid>".into(),
        }
    }
}

/// How the connection to the SMTP relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// None (`smtp://`): for a relay on the same host or network.
    None,
    /// A plain connection upgraded with STARTTLS, which the relay must
    /// offer (`smtp://…?tls=starttls`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

/// The SMTP relay, as [`AlertsConfig::smtp_relay`] reads `smtp_url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpRelay {
    /// Its name or address (an IPv6 address without brackets); TLS
    /// checks the certificate against it.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
}

impl SmtpRelay {
    /// Whether the relay is on this host (a password may travel to it
    /// without TLS).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl AlertsConfig {
    /// The relay `smtp_url` names (`None` when unset), or why it names
    /// none.
    pub fn smtp_relay(&self) -> Result<Option<SmtpRelay>, String> {
        self.smtp_url.as_deref().map(parse_smtp_url).transpose()
    }

    /// The bare address of `mail_from` (inside `<…>` when it has a
    /// name), or why there is none.
    pub fn mail_from_address(&self) -> Result<&str, String> {
        let raw = self.mail_from.trim();
        let addr = match raw.strip_suffix('>') {
            Some(rest) => {
                let (name, addr) = rest
                    .rsplit_once('<')
                    .ok_or_else(|| format!("{raw:?} has a '>' without its '<'"))?;
                if name.contains(['<', '>']) || name.chars().any(char::is_control) {
                    return Err(format!("{raw:?} has a name that is not one"));
                }
                addr
            }
            None => raw,
        };
        adpulse_domain::alert::check_target(adpulse_domain::alert::ChannelKind::Email, addr, false)
            .map(|_| addr)
            .map_err(|e| format!("{raw:?} {e}, or Name <name@example.com>"))
    }
}

fn parse_smtp_url(raw: &str) -> Result<SmtpRelay, String> {
    let usage =
        "must be smtp://host[:port], smtp://host[:port]?tls=starttls or smtps://host[:port]";
    let url = url::Url::parse(raw).map_err(|e| format!("{usage} ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not hold credentials: set alerts.smtp_username and alerts.smtp_password".into(),
        );
    }
    if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
        return Err(format!("{usage} (no path or fragment)"));
    }
    let mut starttls = false;
    for (key, value) in url.query_pairs() {
        match (key.as_ref(), value.as_ref()) {
            ("tls", "starttls") if url.scheme() == "smtp" => starttls = true,
            _ => return Err(format!("{usage} (not ?{key}={value})")),
        }
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        _ => return Err(format!("{usage} (no host)")),
    };
    let (tls, port) = match (url.scheme(), starttls) {
        ("smtp", false) => (SmtpTls::None, 25),
        ("smtp", true) => (SmtpTls::StartTls, 587),
        ("smtps", _) => (SmtpTls::Tls, 465),
        _ => return Err(usage.to_owned()),
    };
    Ok(SmtpRelay {
        host,
        port: url.port().unwrap_or(port),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(url: &str) -> Result<Option<SmtpRelay>, String> {
        AlertsConfig {
            smtp_url: Some(url.into()),
            ..AlertsConfig::default()
        }
        .smtp_relay()
    }

    fn from(mail_from: &str) -> Result<String, String> {
        AlertsConfig {
            mail_from: mail_from.into(),
            ..AlertsConfig::default()
        }
        .mail_from_address()
        .map(str::to_owned)
    }

    #[test]
    fn smtp_urls_say_host_port_and_protection() {
        assert_eq!(AlertsConfig::default().smtp_relay(), Ok(None));
        let r = |host: &str, port, tls| {
            Ok(Some(SmtpRelay {
                host: host.into(),
                port,
                tls,
            }))
        };
        assert_eq!(
            relay("smtp://mail.example.com"),
            r("mail.example.com", 25, SmtpTls::None)
        );
        assert_eq!(
            relay("smtp://127.0.0.1:2525"),
            r("127.0.0.1", 2525, SmtpTls::None)
        );
        assert_eq!(
            relay("smtp://mail.example.com?tls=starttls"),
            r("mail.example.com", 587, SmtpTls::StartTls)
        );
        assert_eq!(relay("smtps://[::1]:4650/"), r("::1", 4650, SmtpTls::Tls));
        for bad in [
            "mail.example.com:25",
            "http://mail.example.com",
            "smtp://user:pw@mail.example.com",
            "smtp://mail.example.com/ehlo",
            "smtp://mail.example.com?tls=required",
            "smtps://mail.example.com?tls=starttls",
            "smtp://:25",
            "smtp://mail.example.com:99999",
        ] {
            assert!(relay(bad).is_err(), "{bad}");
        }
        assert!(
            relay("smtp://u:secret@mail.example.com")
                .expect_err("refused")
                .contains("alerts.smtp_password")
        );
    }

    #[test]
    fn loopback_relays() {
        let on = |url: &str| relay(url).ok().flatten().is_some_and(|r| r.is_loopback());
        assert!(on("smtp://localhost:25"));
        assert!(on("smtp://127.0.0.2"));
        assert!(on("smtp://[::1]"));
        assert!(!on("smtp://mail.example.com"));
        assert!(!on("smtp://10.0.0.5"));
    }

    #[test]
    fn mail_from_is_an_address_with_or_without_a_name() {
        assert_eq!(
            from(&AlertsConfig::default().mail_from),
            Ok("alerts@adpulse.invalid".into())
        );
        assert_eq!(from(" ops@example.com "), Ok("ops@example.com".into()));
        assert_eq!(
            from("\"Ops, team\" <ops@example.com>"),
            Ok("ops@example.com".into())
        );
        for bad in [
            "",
            "adpulse",
            "Ops <ops@example.com",
            "Ops ops@example.com>",
            "a <b> <c@d.e>",
            "x\n <c@d.e>",
        ] {
            assert!(from(bad).is_err(), "{bad:?}");
        }
    }
}
