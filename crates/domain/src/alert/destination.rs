//! Where notifications go, and which addresses they may never go to.
//!
//! A rule's owner chooses the URL the alerter calls, so an unchecked URL
//! would let a tenant make adpulse call its own internals (server-side
//! request forgery: the metadata service at 169.254.169.254, Redis on
//! loopback, the Postgres of the private network). Targets are checked
//! twice: here when a channel is written (literal addresses and names
//! that can only be local), and by the alerter for every address a name
//! resolves to before it connects. Both refuse loopback, private,
//! link-local, shared, multicast and reserved ranges unless the operator
//! allows private destinations (`alerts.allow_private_destinations`, for
//! receivers on the same network and for tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// How a channel delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// An HTTP POST signed the Standard Webhooks way.
    Webhook,
    /// A Slack incoming webhook (`{"text": …}`).
    Slack,
    /// An e-mail through the configured SMTP relay.
    Email,
}

impl ChannelKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Webhook, Self::Slack, Self::Email];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Email => "email",
        }
    }

    /// Whether deliveries are signed with a per-channel secret.
    pub fn signed(self) -> bool {
        self == Self::Webhook
    }
}

impl std::str::FromStr for ChannelKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

/// Checks a channel's target (a URL, or an e-mail address) and returns it
/// as stored; the error is a sentence for the `target` field.
pub fn check_target(kind: ChannelKind, raw: &str, allow_private: bool) -> Result<String, String> {
    let raw = raw.trim();
    match kind {
        ChannelKind::Email => check_email(raw).map(|()| raw.to_owned()),
        ChannelKind::Webhook | ChannelKind::Slack => {
            let url = url::Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
            match url.scheme() {
                "https" => {}
                "http" if allow_private || kind == ChannelKind::Webhook => {}
                _ => return Err("must be an https URL".into()),
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(
                    "must not carry credentials; put a token in the path or rely on the signature"
                        .into(),
                );
            }
            match url.host() {
                None => return Err("must name a host".into()),
                Some(url::Host::Domain(d)) => {
                    if !allow_private && local_name(d) {
                        return Err(format!(
                            "names a local host ({d}); private destinations are not allowed"
                        ));
                    }
                }
                Some(url::Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), allow_private)?,
                Some(url::Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), allow_private)?,
            }
            Ok(url.to_string())
        }
    }
}

/// Refuses an address a delivery may not connect to.
pub fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    if allow_private || public(ip) {
        Ok(())
    } else {
        Err(format!(
            "is a private, loopback or reserved address ({ip}); private destinations are not allowed"
        ))
    }
}

/// Names that only ever resolve to this machine or a private network.
fn local_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost"
        || ["localhost", "local", "internal", "localdomain", "home.arpa"]
            .iter()
            .any(|s| h.ends_with(&format!(".{s}")))
        || !h.contains('.')
}

/// Whether `ip` is a globally reachable unicast address.
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: reaches IPv4 addresses
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0)) // IPv4-compatible and friends
}

fn check_email(raw: &str) -> Result<(), String> {
    let bad = || Err("must be an e-mail address (name@example.com)".to_owned());
    let Some((local, domain)) = raw.rsplit_once('@') else {
        return bad();
    };
    let ok_chars = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"@".contains(c))
    };
    if raw.len() > 254 || local.len() > 64 || !ok_chars(local) || !ok_chars(domain) {
        return bad();
    }
    if !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_internal_destinations() {
        for url in [
            "http://127.0.0.1:6379/",
            "http://localhost/hook",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.5/",
            "http://192.168.1.1/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://redis/",
            "http://db.internal/",
            "http://printer.local/",
            "https://user:pw@hooks.example.com/",
            "ftp://example.com/",
        ] {
            assert!(
                check_target(ChannelKind::Webhook, url, false).is_err(),
                "{url}"
            );
        }
        // Allowed when the operator says so (tests and private networks).
        assert!(check_target(ChannelKind::Webhook, "http://127.0.0.1:9/x", true).is_ok());
    }

    #[test]
    fn accepts_public_destinations() {
        for url in [
            "https://hooks.example.com/a?b=c",
            "http://93.184.216.34/",
            "https://[2606:4700::1]/",
        ] {
            assert!(
                check_target(ChannelKind::Webhook, url, false).is_ok(),
                "{url}"
            );
        }
        // Slack needs TLS unless private destinations are allowed.
        assert!(
            check_target(
                ChannelKind::Slack,
                "http://hooks.slack.com/services/T/B/X",
                false
            )
            .is_err()
        );
        assert!(
            check_target(
                ChannelKind::Slack,
                "https://hooks.slack.com/services/T/B/X",
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn e_mail_addresses() {
        for ok in ["ops@example.com", "a.b+alerts@mail.example.co.uk"] {
            assert!(check_target(ChannelKind::Email, ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.com",
            "ops@example",
            "a b@example.com",
            "ops@ex..com",
            "<ops@example.com>",
        ] {
            assert!(
                check_target(ChannelKind::Email, bad, false).is_err(),
                "{bad}"
            );
        }
    }
}
