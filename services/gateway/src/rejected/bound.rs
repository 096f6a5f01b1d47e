//! How many bad rows a tenant keeps: the first
//! `rejected_rows_per_tenant_per_minute` refusals of a UTC minute in full,
//! the rest counted by reason into one summary per reason, written once the
//! minute is over (see [`super`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use adpulse_domain::TenantId;
use adpulse_domain::contract::reason::RejectionCode;
use chrono::{DateTime, Utc};

/// How many bad rows one tenant keeps in full per minute, and the count of
/// the rest.
pub(crate) struct RowBound {
    per_minute: u32,
    /// Each tenant's current minute. One lock for all tenants, taken by
    /// refusals (rare in traffic that works) and housekeeping, held for a
    /// few map operations and never across an `.await`.
    minutes: Mutex<HashMap<TenantId, Minute>>,
}

/// One tenant's current minute.
struct Minute {
    /// Minutes since the Unix epoch, UTC.
    index: i64,
    kept: u32,
    /// Refusals past the bound, by reason (a handful at most).
    counted: Vec<(RejectionCode, Tally)>,
}

/// Refusals counted instead of kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// How many.
    pub rows: u64,
    /// The bytes that arrived for them.
    pub payload_bytes: u64,
}

/// The refusals of one tenant, reason and minute that were counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub tenant: TenantId,
    pub reason: RejectionCode,
    /// Minutes since the Unix epoch, UTC.
    pub minute: i64,
    pub tally: Tally,
}

/// What to do with one refusal's bad row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Write it.
    Keep,
    /// Count it into the minute's summary; `first` when it is the tenant's
    /// first such refusal this minute.
    Count { first: bool },
}

pub(super) fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

impl Minute {
    fn new(index: i64) -> Self {
        Self {
            index,
            kept: 0,
            counted: Vec::new(),
        }
    }

    fn close(&mut self, tenant: TenantId, due: &mut Vec<Summary>) {
        due.extend(self.counted.drain(..).map(|(reason, tally)| Summary {
            tenant,
            reason,
            minute: self.index,
            tally,
        }));
    }
}

impl RowBound {
    /// Keeps `per_minute` rows per tenant and minute.
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            minutes: Mutex::new(HashMap::new()),
        }
    }

    /// Decides for one refusal of `tenant` at `now` with `payload_bytes` of
    /// input. When the tenant's previous minute is over, its summaries are
    /// added to `due`.
    pub(crate) fn admit(
        &self,
        tenant: TenantId,
        reason: RejectionCode,
        payload_bytes: usize,
        now: DateTime<Utc>,
        due: &mut Vec<Summary>,
    ) -> Verdict {
        let index = minute_of(now);
        let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        let m = minutes.entry(tenant).or_insert_with(|| Minute::new(index));
        // A clock stepped back stays in the later minute: the bound holds.
        if index > m.index {
            m.close(tenant, due);
            *m = Minute::new(index);
        }
        if m.kept < self.per_minute {
            m.kept += 1;
            return Verdict::Keep;
        }
        let first = m.counted.is_empty();
        let i = match m.counted.iter().position(|(r, _)| *r == reason) {
            Some(i) => i,
            None => {
                m.counted.push((reason, Tally::default()));
                m.counted.len() - 1
            }
        };
        let tally = &mut m.counted[i].1;
        tally.rows += 1;
        tally.payload_bytes += payload_bytes as u64;
        Verdict::Count { first }
    }

    /// The summaries of every minute over at `now` (of every minute, ended
    /// or not, when `all`), forgetting those minutes: the map holds only
    /// tenants refused this minute.
    pub(crate) fn drain(&self, now: DateTime<Utc>, all: bool) -> Vec<Summary> {
        let index = minute_of(now);
        let mut due = Vec::new();
        self.minutes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|tenant, m| {
                let over = all || m.index < index;
                if over {
                    m.close(*tenant, &mut due);
                }
                !over
            });
        due
    }
}

#[cfg(test)]
mod tests {
    use adpulse_domain::ErrorCode;
    use chrono::TimeZone as _;

    use super::*;

    const INVALID_JSON: RejectionCode = RejectionCode::Event(ErrorCode::InvalidJson);
    const TOO_OLD: RejectionCode = RejectionCode::Event(ErrorCode::TooOld);
    const X: RejectionCode = RejectionCode::EmptyBatch;

    fn tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::new_v4())
    }

    /// 12:00:00 UTC plus `secs`.
    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::seconds(secs)
    }

    #[test]
    fn a_tenant_keeps_n_rows_a_minute_and_counts_the_rest_by_reason() {
        let bound = RowBound::new(3);
        let (t, other) = (tenant(), tenant());
        let mut due = Vec::new();
        let verdicts: Vec<_> = (0..6)
            .map(|i| {
                let reason = if i % 2 == 0 { INVALID_JSON } else { TOO_OLD };
                bound.admit(t, reason, 100, at(i), &mut due)
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Keep,
                Verdict::Keep,
                Verdict::Keep,
                Verdict::Count { first: true },
                Verdict::Count { first: false },
                Verdict::Count { first: false },
            ]
        );
        assert_eq!(
            bound.admit(other, INVALID_JSON, 1, at(59), &mut due),
            Verdict::Keep,
            "per tenant"
        );
        assert!(due.is_empty(), "the minute is not over");

        // The next minute's first refusal closes the last one: one summary
        // per reason, with counts and bytes.
        assert_eq!(
            bound.admit(t, INVALID_JSON, 100, at(60), &mut due),
            Verdict::Keep
        );
        due.sort_by_key(|s| s.reason.as_str());
        assert_eq!(
            due,
            [
                Summary {
                    tenant: t,
                    reason: INVALID_JSON,
                    minute: minute_of(at(0)),
                    tally: Tally {
                        rows: 1,
                        payload_bytes: 100
                    },
                },
                Summary {
                    tenant: t,
                    reason: TOO_OLD,
                    minute: minute_of(at(0)),
                    tally: Tally {
                        rows: 2,
                        payload_bytes: 200
                    },
                },
            ]
        );
    }

    #[test]
    fn minutes_are_utc_minutes_and_a_clock_stepping_back_stays_bounded() {
        let bound = RowBound::new(1);
        let t = tenant();
        let mut due = Vec::new();
        // 12:00:59 and 12:01:00 are different minutes.
        assert_eq!(bound.admit(t, X, 1, at(59), &mut due), Verdict::Keep);
        assert_eq!(bound.admit(t, X, 1, at(60), &mut due), Verdict::Keep);
        // Back to 12:00:30: still the later minute, whose row is taken.
        assert_eq!(
            bound.admit(t, X, 1, at(30), &mut due),
            Verdict::Count { first: true }
        );
        assert!(due.is_empty());
    }

    #[test]
    fn housekeeping_summarises_minutes_that_are_over_and_forgets_them() {
        let bound = RowBound::new(0);
        let (quiet, busy) = (tenant(), tenant());
        let mut due = Vec::new();
        bound.admit(quiet, TOO_OLD, 10, at(5), &mut due);
        bound.admit(busy, TOO_OLD, 10, at(5), &mut due);
        bound.admit(busy, TOO_OLD, 10, at(65), &mut due);
        assert_eq!(due.len(), 1, "busy's first minute closed by its refusal");
        assert!(bound.drain(at(59), false).is_empty(), "nothing is over yet");
        let over = bound.drain(at(70), false);
        assert_eq!(over.len(), 1);
        assert_eq!((over[0].tenant, over[0].tally.rows), (quiet, 1));
        assert!(bound.drain(at(70), false).is_empty(), "written once");
        // At shutdown the current minute goes too, and nothing is left.
        let last = bound.drain(at(70), true);
        assert_eq!((last[0].tenant, last[0].tally.rows), (busy, 1));
        assert!(bound.minutes.lock().expect("lock").is_empty());
    }

    #[test]
    fn a_minute_without_counted_refusals_leaves_no_summary() {
        let bound = RowBound::new(5);
        let t = tenant();
        let mut due = Vec::new();
        bound.admit(t, X, 1, at(0), &mut due);
        bound.admit(t, X, 1, at(61), &mut due);
        assert!(due.is_empty());
        assert!(bound.drain(at(600), true).is_empty());
    }
}
