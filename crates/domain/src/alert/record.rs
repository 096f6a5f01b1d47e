//! Rules and channels as the store keeps them.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::destination::ChannelKind;
use super::rule::RuleSpec;
use crate::TenantId;

/// A notification channel's settings. `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelWrite {
    /// For people.
    pub name: String,
    /// How it delivers.
    pub kind: ChannelKind,
    /// The URL, or the e-mail address (checked by
    /// [`super::check_target`]).
    pub target: String,
    /// The signing secret (`whsec_…`) of a webhook; `None` for the others.
    pub secret: Option<String>,
}

/// A stored channel. `Debug` leaves the secrets out.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its settings.
    pub fields: ChannelWrite,
    /// The secret before the last rotation, still signing until
    /// `previous_until` so receivers can switch over.
    pub previous_secret: Option<String>,
    /// Until when the previous secret signs too.
    pub previous_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed (a rotation changes it).
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for ChannelWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelWrite")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("target", &self.target)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl fmt::Debug for ChannelRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelRecord")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("fields", &self.fields)
            .field(
                "previous_secret",
                &self.previous_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("previous_until", &self.previous_until)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleRecord {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its settings.
    pub spec: RuleSpec,
    /// Grows with every change (the ETag).
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// What became of a channel's deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelDeleted {
    /// Deleted.
    Done,
    /// No such channel in the tenant.
    NotFound,
    /// Rules still notify it (their ids); nothing was deleted.
    InUse(Vec<Uuid>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_secret() {
        let w = ChannelWrite {
            name: "ops".into(),
            kind: ChannelKind::Webhook,
            target: "https://hooks.example.com/".into(),
            secret: Some("whsec_c2VjcmV0".into()),
        };
        let r = ChannelRecord {
            id: Uuid::nil(),
            tenant: TenantId::from_uuid(Uuid::nil()),
            fields: w.clone(),
            previous_secret: Some("whsec_b2xk".into()),
            previous_until: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        };
        let shown = format!("{w:?} {r:?}");
        assert!(!shown.contains("whsec_"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
