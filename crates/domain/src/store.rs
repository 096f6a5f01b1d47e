//! What the relational store keeps and hands back, whichever adapter
//! keeps it (Postgres in production, SQLite embedded): claims and commits of
//! the stream worker, users, campaigns, creatives, ingest keys, and report
//! requests and rows. Adapters map their rows to these types; services never
//! see an adapter's own types.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::aggregate::{CampaignTotals, Counts, Grain, LivePoint};
use crate::ports::PortError;
use crate::report::{Breakdown, Granularity, RankBy};
use crate::{CampaignId, CampaignStatus, Role, TenantId};

/// `s` lower-cased one character at a time, as Postgres' `lower()` does
/// (simple case mapping: `İ` becomes `i` and a final `Σ` becomes `σ`,
/// unlike [`str::to_lowercase`]). The name sort orders by it in both
/// stores, so a name cursor ([`CampaignSort::value_of`]) must fold the same
/// way or paging skips and repeats rows.
pub fn fold_case(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// The error under a [`StoreError`]: the driver's own when there is one
/// (kept whole, so logs can follow its chain), else a message.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A relational-store operation that failed, with its cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL, a path or an option is invalid, or a stored value is not
    /// one this build can read.
    #[error("invalid store settings: {0}")]
    Config(#[source] Cause),
    /// The store is unreachable, busy or did not answer in time; retry later.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The store refused the statement; retrying will not help.
    #[error("store refused: {0}")]
    Refused(#[source] Cause),
    /// The store refused the values themselves (a number out of range, a
    /// character it cannot keep, a check or reference it enforces): the
    /// same values always fail, other values may pass. A stream worker
    /// isolates the event that carries them instead of retrying forever.
    #[error("store refused the values: {0}")]
    Invalid(#[source] Cause),
    /// A migration failed.
    #[error("store migration failed: {0}")]
    Migration(#[source] Cause),
    /// A row with the same unique value exists (an e-mail address, say).
    #[error("already exists: {0}")]
    Duplicate(#[source] Cause),
}

impl StoreError {
    /// Whether the same operation may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<StoreError> for PortError {
    fn from(e: StoreError) -> Self {
        Self::caused_by(e.is_retryable(), e)
    }
}

/// Ownership of one partition: where to resume, and the epoch that fences
/// every previous owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Consumer group.
    pub group: String,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// This owner's epoch; commits carry it.
    pub epoch: i64,
    /// The first offset not yet applied.
    pub next_offset: i64,
}

/// What became of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Commit {
    /// Applied; the claim's `next_offset` moved on.
    Applied(Applied),
    /// Another owner claimed the partition since: nothing was applied, and
    /// this owner must drop the partition.
    Fenced,
}

/// What an applied commit's transaction computed, handed back so the live
/// counters are written without reading it again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The live-series points the batch touched, with their totals as
    /// committed.
    pub points: Vec<LivePoint>,
    /// Lifetime and today's (UTC) totals of every campaign of the batch,
    /// as committed, ordered by campaign id: what
    /// [`AggregateSink::campaign_totals`](crate::ports::AggregateSink::campaign_totals)
    /// would answer right after the commit.
    pub totals: Vec<CampaignTotals>,
}

/// A user as login needs them.
#[derive(Clone, Debug)]
pub struct UserRecord {
    /// The user.
    pub id: Uuid,
    /// Their tenant.
    pub tenant_id: TenantId,
    /// Their address.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Their role.
    pub role: Role,
    /// Set when the account was deactivated.
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// What presenting a refresh token did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now used, and `next` (already stored)
    /// replaces it.
    Rotated {
        /// The token's user.
        user_id: Uuid,
        /// Their tenant.
        tenant_id: TenantId,
        /// The family both tokens belong to.
        family_id: Uuid,
    },
    /// The token had already been used or revoked: its whole family is now
    /// revoked (a stolen token was replayed, by the thief or the owner).
    Reused,
    /// Unknown or expired.
    Invalid,
}

/// A campaign as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignRecord {
    /// The campaign.
    pub id: CampaignId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its lifecycle status.
    pub status: CampaignStatus,
    /// What can be written.
    pub fields: CampaignWrite,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change (the ETag).
    pub version: i64,
}

/// The fields a campaign manager sets (create and replace take them all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CampaignWrite {
    /// Display name.
    pub name: String,
    /// The advertiser's brand.
    pub brand_id: Option<String>,
    /// Total budget in micros.
    pub budget_total_micros: Option<i64>,
    /// ISO 4217 currency of the budget.
    pub budget_currency: Option<String>,
    /// Daily cap in micros.
    pub budget_daily_cap_micros: Option<i64>,
    /// Start.
    pub schedule_start: Option<DateTime<Utc>>,
    /// End.
    pub schedule_end: Option<DateTime<Utc>>,
    /// IANA time zone of the schedule and of reports.
    pub timezone: String,
    /// Objectives.
    pub objectives: Vec<String>,
    /// Channels.
    pub channels: Vec<String>,
}

/// Which campaigns a listing returns.
#[derive(Clone, Debug, Default)]
pub struct CampaignFilter {
    /// Any of these statuses (none: all).
    pub statuses: Vec<CampaignStatus>,
    /// This brand.
    pub brand_id: Option<String>,
    /// Name contains (case-insensitive).
    pub name: Option<String>,
    /// Scheduled to run at some time at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Scheduled to run at some time before this.
    pub to: Option<DateTime<Utc>>,
}

/// Sort orders a listing allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CampaignSort {
    /// By creation time.
    CreatedAt,
    /// By last change.
    UpdatedAt,
    /// By name (case-insensitive).
    Name,
    /// By total budget (none sorts lowest).
    Budget,
}

impl CampaignSort {
    /// The name in `sort=` (`-` before it for descending).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Name => "name",
            Self::Budget => "budget",
        }
    }

    /// Every sort key.
    pub const ALL: [Self; 4] = [Self::CreatedAt, Self::UpdatedAt, Self::Name, Self::Budget];

    /// The sort value of `c`, as text (cursors carry it).
    pub fn value_of(self, c: &CampaignRecord) -> String {
        match self {
            Self::CreatedAt => c.created_at.to_rfc3339(),
            Self::UpdatedAt => c.updated_at.to_rfc3339(),
            Self::Name => fold_case(&c.fields.name),
            Self::Budget => c.fields.budget_total_micros.unwrap_or(-1).to_string(),
        }
    }
}

/// Where a listing page starts.
#[derive(Clone, Debug)]
pub enum Page {
    /// Skip this many (page/limit pagination).
    Offset(i64),
    /// After this sort value and id (cursor pagination).
    After {
        /// The last row's sort value ([`CampaignSort::value_of`]).
        value: String,
        /// The last row's id.
        id: CampaignId,
    },
}

/// What became of a conditional change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Updated<T = CampaignRecord> {
    /// Done; the resource as it now is.
    Done(Box<T>),
    /// No such resource in the tenant (or deleted).
    NotFound,
    /// Changed since the caller read it: its current version.
    Conflict(i64),
}

/// Which creatives a listing returns; every field narrows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreativeFilter {
    /// One campaign's only.
    pub campaign: Option<CampaignId>,
    /// Of this sniffed type only (`image/png`, `image/jpeg`, `image/gif`,
    /// `image/webp`).
    pub content_type: Option<String>,
    /// Whose file name contains this, ignoring case (ASCII letters only on
    /// SQLite, any letter on Postgres).
    pub name: Option<String>,
}

impl CreativeFilter {
    /// One campaign's creatives.
    pub fn campaign(campaign: CampaignId) -> Self {
        Self {
            campaign: Some(campaign),
            ..Self::default()
        }
    }

    /// `name` as a `LIKE` pattern that matches it anywhere, with `\` as
    /// the escape character, so `%` and `_` in a name match themselves.
    pub fn name_pattern(&self) -> Option<String> {
        self.name.as_ref().map(|n| {
            let mut p = String::with_capacity(n.len() + 2);
            p.push('%');
            for c in n.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    p.push('\\');
                }
                p.push(c);
            }
            p.push('%');
            p
        })
    }
}

/// A creative's catalogue entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreativeRecord {
    /// The creative.
    pub id: Uuid,
    /// Its campaign.
    pub campaign_id: CampaignId,
    /// The uploaded file's name.
    pub filename: String,
    /// Sniffed from the bytes.
    pub content_type: String,
    /// Of the original.
    pub size_bytes: i64,
    /// SHA-256 of the original.
    pub sha256: Vec<u8>,
    /// Pixels.
    pub width: i32,
    /// Pixels.
    pub height: i32,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
}

/// A newly created ingest key. `secret` exists only here: it is never stored.
#[derive(Debug)]
pub struct IngestKeyInfo {
    /// The key's id.
    pub id: Uuid,
    /// What it is for.
    pub name: String,
    /// Its first characters, to tell keys apart.
    pub prefix: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just created: the only time its secret is known.
pub struct NewIngestKey {
    /// The key's id, for revoking it.
    pub id: Uuid,
    /// The bearer secret to hand to the ad server, once.
    pub secret: String,
}

/// One campaign's report.
#[derive(Clone, Debug)]
pub struct CampaignReport {
    /// The campaign.
    pub campaign: CampaignId,
    /// First instant of the range (local midnight of the first day).
    pub from: DateTime<Utc>,
    /// End of the range, exclusive (local midnight after the last day).
    pub to: DateTime<Utc>,
    /// The stored buckets to read.
    pub grain: Grain,
    /// IANA zone the periods are local to.
    pub tz: String,
    /// Rows per hour, day or total.
    pub granularity: Granularity,
    /// Split by channel and/or event type.
    pub breakdown: Breakdown,
}

/// The tenant's campaigns ranked over a range.
#[derive(Clone, Debug)]
pub struct TopCampaigns {
    /// First instant of the range.
    pub from: DateTime<Utc>,
    /// End of the range, exclusive.
    pub to: DateTime<Utc>,
    /// The stored buckets to read (`day` for UTC days).
    pub grain: Grain,
    /// Only campaigns in this status.
    pub status: Option<String>,
    /// Only campaigns of this brand.
    pub brand_id: Option<String>,
    /// Ranked by.
    pub by: RankBy,
    /// Descending.
    pub desc: bool,
    /// How many.
    pub limit: i64,
}

/// One ranked campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankedCampaign {
    /// The campaign.
    pub id: CampaignId,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: String,
    /// Its brand.
    pub brand_id: Option<String>,
    /// Counts over the range.
    pub counts: Counts,
    /// Distinct people over the range.
    pub unique_users: i64,
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// A driver error with a cause of its own, like sqlx's I/O errors.
    #[derive(Debug, thiserror::Error)]
    #[error("driver: connection reset")]
    struct Driver(#[source] std::io::Error);

    #[test]
    fn a_port_error_says_what_its_cause_says_and_keeps_the_chain() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = PortError::caused_by(true, Driver(io()));
        assert_eq!(e.to_string(), "driver: connection reset");
        assert!(e.retryable);
        // The chain goes on below the cause, without repeating it.
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("reset by peer")
        );
        assert!(e.cause().is_some_and(|c| c.is::<Driver>()));
        assert_eq!(e, PortError::retryable("driver: connection reset"));
        assert_ne!(e, PortError::permanent("driver: connection reset"));

        let plain = PortError::permanent("no such topic");
        assert_eq!(
            (plain.to_string(), plain.retryable),
            ("no such topic".into(), false)
        );
        assert!(plain.source().is_none() && plain.cause().is_none());
    }

    #[test]
    fn a_store_error_becomes_a_port_error_that_says_the_same() {
        let e = StoreError::Unavailable("pool timed out".into());
        let text = e.to_string();
        let p = PortError::from(e);
        assert_eq!((p.to_string(), p.retryable), (text, true));
        assert!(p.cause().is_some_and(|c| c.is::<StoreError>()));
        assert!(!PortError::from(StoreError::Refused("syntax".into())).retryable);
    }
}
