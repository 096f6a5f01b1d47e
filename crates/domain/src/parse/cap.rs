//! Frequency-capping requests (`/v1/frequency/*`): the same two steps as
//! an event, a lenient wire shape then validation that collects every
//! problem, with the fields each call accepts.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Problems, WireUser, explain, object, user};
use crate::error::{ErrorCode, RejectReason};
use crate::event::UserIds;
use crate::ids::{AdId, CampaignId};

/// Which frequency-capping call a body is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapCall {
    /// `{campaign_id, ad_id?, user}`.
    Decide,
    /// `{user, candidates: [{campaign_id, ad_id?}, …]}`.
    DecideBatch,
    /// `{campaign_id, ad_id?, user, reserved_at}`.
    Release,
}

/// A frequency-capping request, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapQuery {
    /// Who (at least one id).
    pub user: UserIds,
    /// The campaigns (and ads) to decide, in order; one unless batched.
    pub candidates: Vec<(CampaignId, Option<AdId>)>,
    /// For a release: when the reservation was made.
    pub reserved_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCapQuery<'a> {
    #[serde(borrow)]
    campaign_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ad_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<WireUser<'a>>,
    #[serde(borrow)]
    candidates: Option<Vec<WireCandidate<'a>>>,
    #[serde(borrow)]
    reserved_at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCandidate<'a> {
    #[serde(borrow)]
    campaign_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ad_id: Option<Cow<'a, str>>,
}

/// Parses and validates a frequency-capping request for `call`, with at
/// most `max_candidates` candidates in a batch.
pub fn parse_cap_query(
    bytes: &[u8],
    call: CapCall,
    max_candidates: usize,
) -> Result<CapQuery, RejectReason> {
    object(bytes, "the request is a JSON object")?;
    let w: WireCapQuery<'_> = match serde_json::from_slice(bytes) {
        Ok(w) => w,
        Err(plain) => return Err(explain::<WireCapQuery<'_>>(bytes, plain)),
    };
    let mut p = Problems::default();
    misplaced_fields(&mut p, &w, call);
    let user = match w.user {
        Some(u) => user(&mut p, u),
        None => {
            p.push("user", ErrorCode::MissingField, "user is required");
            None
        }
    };
    let mut candidates = Vec::new();
    if call == CapCall::DecideBatch {
        batch(&mut p, &mut candidates, w.candidates, max_candidates);
    } else {
        candidate(&mut p, &mut candidates, "", &w.campaign_id, w.ad_id);
    }
    let reserved_at = if call == CapCall::Release {
        reserved_at(&mut p, &w.reserved_at)
    } else {
        None
    };
    match user {
        Some(user) if p.0.is_empty() => Ok(CapQuery {
            user,
            candidates,
            reserved_at,
        }),
        _ => Err(RejectReason { errors: p.0 }),
    }
}

/// The three calls share one wire shape, so serde accepts a field another
/// call takes; each is refused here as unknown to this call.
fn misplaced_fields(p: &mut Problems, w: &WireCapQuery<'_>, call: CapCall) {
    let mut unexpected = |field: &str, present: bool| {
        if present {
            p.push(
                field,
                ErrorCode::UnknownField,
                format!("{field} does not belong in this request"),
            );
        }
    };
    let batch = call == CapCall::DecideBatch;
    unexpected("campaign_id", batch && w.campaign_id.is_some());
    unexpected("ad_id", batch && w.ad_id.is_some());
    unexpected("candidates", !batch && w.candidates.is_some());
    unexpected(
        "reserved_at",
        call != CapCall::Release && w.reserved_at.is_some(),
    );
}

/// A batch's candidates: present, not empty, within the limit, each one
/// checked under its own `candidates[i].` prefix.
fn batch(
    p: &mut Problems,
    candidates: &mut Vec<(CampaignId, Option<AdId>)>,
    list: Option<Vec<WireCandidate<'_>>>,
    max_candidates: usize,
) {
    match list {
        None => p.push(
            "candidates",
            ErrorCode::MissingField,
            "candidates is required",
        ),
        Some(list) if list.is_empty() => {
            p.push(
                "candidates",
                ErrorCode::Empty,
                "candidates must not be empty",
            );
        }
        Some(list) if list.len() > max_candidates => p.push(
            "candidates",
            ErrorCode::TooManyCandidates,
            format!(
                "candidates holds {} campaigns, the limit is {max_candidates}",
                list.len()
            ),
        ),
        Some(list) => {
            for (i, c) in list.into_iter().enumerate() {
                candidate(
                    p,
                    candidates,
                    &format!("candidates[{i}]."),
                    &c.campaign_id,
                    c.ad_id,
                );
            }
        }
    }
}

/// One campaign (and ad) to decide; the fields are named under `prefix`.
fn candidate(
    p: &mut Problems,
    candidates: &mut Vec<(CampaignId, Option<AdId>)>,
    prefix: &str,
    id: &Option<Cow<'_, str>>,
    ad: Option<Cow<'_, str>>,
) {
    let field = format!("{prefix}campaign_id");
    let campaign = p.uuid(&field, id).map(CampaignId::from_uuid);
    let ad = ad.and_then(|s| p.text(&format!("{prefix}ad_id"), &s, AdId::MAX_LEN));
    if let Some(c) = campaign {
        candidates.push((c, ad.map(AdId::new_unchecked)));
    }
}

/// A release's `reserved_at`: required, an RFC 3339 instant.
fn reserved_at(p: &mut Problems, value: &Option<Cow<'_, str>>) -> Option<DateTime<Utc>> {
    p.required("reserved_at", value).and_then(|s| {
        let t = crate::time::parse_instant(s);
        if t.is_none() {
            p.push(
                "reserved_at",
                ErrorCode::InvalidTimestamp,
                "reserved_at must be an RFC 3339 timestamp (the decision's decided_at)",
            );
        }
        t
    })
}
