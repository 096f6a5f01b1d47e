//! Why a row is on the rejected stream: one stable code per reason, the
//! same on the wire (a row's `code`) and in metrics (the `reason` label).
//! Rows are read by people and tools outside adpulse, so the string forms
//! are a public contract: never rename one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ErrorCode;

/// The code of a refusal kept on the rejected stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionCode {
    /// The gateway refused the request's content type.
    UnsupportedMediaType,
    /// The gateway refused the request's content encoding.
    UnsupportedEncoding,
    /// The body was larger than the gateway takes.
    BodyTooLarge,
    /// The body did not arrive in time.
    BodyTimeout,
    /// The body could not be read.
    UnreadableBody,
    /// The body was not valid gzip.
    InvalidGzip,
    /// The body inflated past the gateway's limit.
    DecompressedTooLarge,
    /// A batch without events.
    EmptyBatch,
    /// A batch with more events than allowed.
    TooManyEvents,
    /// A batch with more events than the tenant's burst can ever hold.
    BatchExceedsQuota,
    /// An event (or a body read as events) the domain refused, by the code
    /// of its first problem. The worker's refusal of an event that fell
    /// behind the retention horizon while it waited is
    /// `Event(ErrorCode::TooOld)` too: the same reason, found later.
    Event(ErrorCode),
    /// The worker read a record the gateway does not write.
    Undecodable,
    /// The event would take its campaign's lifetime sums out of range.
    CampaignTotalExceeded,
    /// A sum of the event's batch would overflow.
    SumOverflow,
    /// The store refuses the event's values.
    Unstorable,
}

/// The codes that are not an event's field code, for parsing.
const OWN: [RejectionCode; 14] = [
    RejectionCode::UnsupportedMediaType,
    RejectionCode::UnsupportedEncoding,
    RejectionCode::BodyTooLarge,
    RejectionCode::BodyTimeout,
    RejectionCode::UnreadableBody,
    RejectionCode::InvalidGzip,
    RejectionCode::DecompressedTooLarge,
    RejectionCode::EmptyBatch,
    RejectionCode::TooManyEvents,
    RejectionCode::BatchExceedsQuota,
    RejectionCode::Undecodable,
    RejectionCode::CampaignTotalExceeded,
    RejectionCode::SumOverflow,
    RejectionCode::Unstorable,
];

impl RejectionCode {
    /// The stable string form: the row's `code` and the metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::UnsupportedEncoding => "unsupported_encoding",
            Self::BodyTooLarge => "body_too_large",
            Self::BodyTimeout => "body_timeout",
            Self::UnreadableBody => "unreadable_body",
            Self::InvalidGzip => "invalid_gzip",
            Self::DecompressedTooLarge => "decompressed_too_large",
            Self::EmptyBatch => "empty_batch",
            Self::TooManyEvents => "too_many_events",
            Self::BatchExceedsQuota => "batch_exceeds_quota",
            Self::Event(code) => code.as_str(),
            Self::Undecodable => "undecodable",
            Self::CampaignTotalExceeded => "campaign_total_exceeded",
            Self::SumOverflow => "sum_overflow",
            Self::Unstorable => "unstorable",
        }
    }
}

impl From<ErrorCode> for RejectionCode {
    fn from(code: ErrorCode) -> Self {
        Self::Event(code)
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is no rejection code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown rejection code {0:?}")]
pub struct UnknownCode(pub String);

impl FromStr for RejectionCode {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OWN.into_iter()
            .find(|c| c.as_str() == s)
            .or_else(|| ErrorCode::from_wire(s).map(Self::Event))
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

impl Serialize for RejectionCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RejectionCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_string() {
        let all = OWN
            .into_iter()
            .chain(ErrorCode::ALL.into_iter().map(RejectionCode::Event));
        for code in all {
            assert_eq!(code.as_str().parse::<RejectionCode>(), Ok(code));
            let json = serde_json::to_string(&code).expect("json");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(
                serde_json::from_str::<RejectionCode>(&json).ok(),
                Some(code)
            );
        }
        assert!("too_old: x".parse::<RejectionCode>().is_err());
    }

    /// The strings rows carried before the enum existed; consumers match
    /// on them.
    #[test]
    fn the_codes_on_the_wire_are_the_ones_rows_always_carried() {
        let pinned = [
            (
                RejectionCode::UnsupportedMediaType,
                "unsupported_media_type",
            ),
            (RejectionCode::UnsupportedEncoding, "unsupported_encoding"),
            (RejectionCode::BodyTooLarge, "body_too_large"),
            (RejectionCode::BodyTimeout, "body_timeout"),
            (RejectionCode::UnreadableBody, "unreadable_body"),
            (RejectionCode::InvalidGzip, "invalid_gzip"),
            (
                RejectionCode::DecompressedTooLarge,
                "decompressed_too_large",
            ),
            (RejectionCode::EmptyBatch, "empty_batch"),
            (RejectionCode::TooManyEvents, "too_many_events"),
            (RejectionCode::BatchExceedsQuota, "batch_exceeds_quota"),
            (RejectionCode::Event(ErrorCode::InvalidJson), "invalid_json"),
            (RejectionCode::Event(ErrorCode::TooOld), "too_old"),
            (RejectionCode::Undecodable, "undecodable"),
            (
                RejectionCode::CampaignTotalExceeded,
                "campaign_total_exceeded",
            ),
            (RejectionCode::SumOverflow, "sum_overflow"),
            (RejectionCode::Unstorable, "unstorable"),
        ];
        for (code, s) in pinned {
            assert_eq!(code.as_str(), s);
        }
    }
}
