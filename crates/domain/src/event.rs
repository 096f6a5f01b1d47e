//! The ad event: one impression, click or conversion, as accepted by the
//! gateway and carried through Kafka to the workers.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AdId, CampaignId, EventId};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// The ad was shown.
    Impression,
    /// The ad was clicked.
    Click,
    /// The user did what the campaign pays for (a purchase, a sign-up).
    Conversion,
}

impl EventType {
    /// Every event type, in reporting order.
    pub const ALL: [Self; 3] = [Self::Impression, Self::Click, Self::Conversion];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Impression => "impression",
            Self::Click => "click",
            Self::Conversion => "conversion",
        }
    }

    /// Parses a wire name.
    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the ad ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Banner and other display inventory.
    Display,
    /// Social networks.
    Social,
    /// Search engine results.
    Search,
    /// Video players.
    Video,
    /// Native placements (feeds, recommendations).
    Native,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Self; 5] = [
        Self::Display,
        Self::Social,
        Self::Search,
        Self::Video,
        Self::Native,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Display => "display",
            Self::Social => "social",
            Self::Search => "search",
            Self::Video => "video",
            Self::Native => "native",
        }
    }

    /// Parses a wire name.
    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Money as integer millionths of the campaign's currency unit. Never a float:
/// sums must be exact.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Micros(i64);

impl Micros {
    /// Zero.
    pub const ZERO: Self = Self(0);
    /// The largest amount one event may carry: one billion currency units.
    /// Far above any real bid, far below where sums of many events overflow.
    pub const MAX: Self = Self(1_000_000_000 * 1_000_000);

    /// An amount, if it is within `0..=MAX`.
    pub fn new(micros: i64) -> Option<Self> {
        (0..=Self::MAX.0).contains(&micros).then_some(Self(micros))
    }

    /// The amount in micros.
    pub const fn get(self) -> i64 {
        self.0
    }
}

/// Who saw the ad, by whichever ids the sender has. Deterministic ids
/// (`login_id`, `email_sha256`) join one person's devices for frequency caps
/// and unique reach. At least one id is present.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserIds {
    /// A device advertising id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// A browser cookie id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie_id: Option<String>,
    /// The publisher's login id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
    /// SHA-256 of the normalized e-mail address, 64 lowercase hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_sha256: Option<String>,
}

impl UserIds {
    /// The longest id accepted, in bytes.
    pub const MAX_ID_LEN: usize = 128;

    /// The strongest id present: deterministic ids first, so the same person
    /// is the same key across devices.
    pub fn primary(&self) -> Option<&str> {
        self.email_sha256
            .as_deref()
            .or(self.login_id.as_deref())
            .or(self.device_id.as_deref())
            .or(self.cookie_id.as_deref())
    }
}

/// A validated event. Only [`crate::parse_event`] makes one from outside
/// input, so holding an `Event` means every rule of the format holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Sender-chosen idempotency key.
    pub event_id: EventId,
    /// Impression, click or conversion.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The campaign, which decides the Kafka partition.
    pub campaign_id: CampaignId,
    /// The creative.
    pub ad_id: AdId,
    /// The channel.
    pub channel: Channel,
    /// When it happened, by the sender's clock.
    pub occurred_at: DateTime<Utc>,
    /// Who, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserIds>,
    /// What the advertiser paid.
    #[serde(default)]
    pub cost_micros: Micros,
    /// What the advertiser earned (conversions).
    #[serde(default)]
    pub revenue_micros: Micros,
    /// Free-form dimensions (country, device...), string to string.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl Event {
    /// Most attributes one event may carry.
    pub const MAX_ATTRIBUTES: usize = 32;
    /// Longest attribute name, in bytes.
    pub const MAX_ATTRIBUTE_KEY_LEN: usize = 64;
    /// Longest attribute value, in bytes.
    pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 256;

    /// The canonical JSON form, as written to Kafka. [`crate::parse_event`]
    /// reads it back to an equal event.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing these plain types into memory cannot fail: every map key
        // is a string and no serializer is fallible.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
