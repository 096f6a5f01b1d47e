//! Why an event was refused: a stable machine code per problem, the field it
//! concerns and a message for humans.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A stable, machine-readable reason. The string forms are part of the public
/// API (clients switch on them); never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The body is not valid JSON.
    InvalidJson,
    /// The body is JSON but not an object.
    NotAnObject,
    /// The body is larger than the configured maximum.
    TooLarge,
    /// A required field is absent or null.
    MissingField,
    /// A field the event format does not have.
    UnknownField,
    /// A field has the wrong JSON type (a number where a string belongs...).
    InvalidType,
    /// Not a UUID in its hyphenated text form.
    InvalidUuid,
    /// The nil UUID, which no sender may choose.
    NilUuid,
    /// `type` is not impression, click or conversion.
    UnknownEventType,
    /// `channel` is not display, social, search, video or native.
    UnknownChannel,
    /// Not an RFC 3339 timestamp with a time zone.
    InvalidTimestamp,
    /// `occurred_at` is further in the future than the allowed clock skew.
    TooFarInFuture,
    /// `occurred_at` is older than the retention horizon.
    TooOld,
    /// A money amount below zero.
    NegativeAmount,
    /// A money amount above the sanity bound.
    AmountTooLarge,
    /// A string longer than its field allows.
    TooLong,
    /// A string or block that must not be empty, is.
    Empty,
    /// A character that is not allowed (control characters).
    InvalidCharacter,
    /// `email_sha256` is not 64 hexadecimal digits.
    InvalidSha256,
    /// More attributes than allowed.
    TooManyAttributes,
    /// More candidate campaigns in one capping decision than allowed.
    TooManyCandidates,
    /// The campaign does not exist in the sender's tenant (whether it exists
    /// in another is not revealed).
    UnknownCampaign,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 22] = [
        Self::InvalidJson,
        Self::NotAnObject,
        Self::TooLarge,
        Self::MissingField,
        Self::UnknownField,
        Self::InvalidType,
        Self::InvalidUuid,
        Self::NilUuid,
        Self::UnknownEventType,
        Self::UnknownChannel,
        Self::InvalidTimestamp,
        Self::TooFarInFuture,
        Self::TooOld,
        Self::NegativeAmount,
        Self::AmountTooLarge,
        Self::TooLong,
        Self::Empty,
        Self::InvalidCharacter,
        Self::InvalidSha256,
        Self::TooManyAttributes,
        Self::TooManyCandidates,
        Self::UnknownCampaign,
    ];

    /// Parses the stable string form.
    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The stable string form, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::NotAnObject => "not_an_object",
            Self::TooLarge => "too_large",
            Self::MissingField => "missing_field",
            Self::UnknownField => "unknown_field",
            Self::InvalidType => "invalid_type",
            Self::InvalidUuid => "invalid_uuid",
            Self::NilUuid => "nil_uuid",
            Self::UnknownEventType => "unknown_event_type",
            Self::UnknownChannel => "unknown_channel",
            Self::InvalidTimestamp => "invalid_timestamp",
            Self::TooFarInFuture => "too_far_in_future",
            Self::TooOld => "too_old",
            Self::NegativeAmount => "negative_amount",
            Self::AmountTooLarge => "amount_too_large",
            Self::TooLong => "too_long",
            Self::Empty => "empty",
            Self::InvalidCharacter => "invalid_character",
            Self::InvalidSha256 => "invalid_sha256",
            Self::TooManyAttributes => "too_many_attributes",
            Self::TooManyCandidates => "too_many_candidates",
            Self::UnknownCampaign => "unknown_campaign",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Dotted path of the field (`user.email_sha256`, `attributes.country`);
    /// empty when the problem is the whole body.
    pub field: String,
    /// What kind of problem.
    pub code: ErrorCode,
    /// A sentence for humans.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(
        field: impl Into<String>,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Why an event was refused: every field problem found, in field order.
///
/// Structural problems (bad JSON, a wrong type) stop parsing at the first;
/// value problems are all collected so a sender can fix them in one go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct RejectReason {
    /// At least one entry.
    pub errors: Vec<FieldError>,
}

impl RejectReason {
    /// A reason with a single problem.
    pub fn one(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError::new(field, code, message)],
        }
    }

    /// The code of the first problem: the one to report when only one fits.
    pub fn code(&self) -> ErrorCode {
        self.errors
            .first()
            .map_or(ErrorCode::InvalidJson, |e| e.code)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if e.field.is_empty() {
                write!(f, "{}: {}", e.code, e.message)?;
            } else {
                write!(f, "{} ({}): {}", e.field, e.code, e.message)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_and_serializes_as_its_string() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
            let json = serde_json::to_string(&code).expect("json");
            assert_eq!(json, format!("\"{code}\""));
        }
        assert_eq!(ErrorCode::from_wire("nope"), None);
    }
}
