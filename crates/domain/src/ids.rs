//! Identifier newtypes, so a campaign id can never be passed where an event id
//! is expected.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }
    };
}

uuid_id!(
    /// The sender-chosen id of one event; the idempotency key of ingestion.
    EventId
);
uuid_id!(
    /// A campaign. Events are partitioned by it, so all of one campaign's
    /// events are ordered and owned by one worker.
    CampaignId
);
uuid_id!(
    /// A tenant (an advertiser or agency account); the unit of isolation.
    TenantId
);

/// The creative an event refers to, as the ad server names it
/// (1 to [`AdId::MAX_LEN`] printable characters).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdId(String);

impl AdId {
    /// The longest ad id accepted, in bytes.
    pub const MAX_LEN: usize = 128;

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value already checked by the parser.
    pub(crate) fn new_unchecked(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for AdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
