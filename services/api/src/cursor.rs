//! The one codec for the cursors of every paginated listing (campaigns,
//! creatives, raw events), so they share one format and one refusal.
//!
//! A cursor is `base64url(JSON)`, unpadded, of
//! `{"v":1,"l":"<listing>","k":[<the listing's keys>]}`:
//!
//! - opaque and URL-safe: clients pass `next_cursor` back as a query value
//!   without escaping, and read nothing into it;
//! - versioned (`v`): a later format can be told apart from this one and
//!   refused with the same 422, never misread as this one;
//! - bound to its listing (`l`): a creatives cursor handed to the campaign
//!   listing is refused, not read as a sort value;
//! - the keys are the listing's own keyset position (a sort value and an
//!   id, a time and an id), typed by the listing that reads them.
//!
//! Cursors are not signed: a client can forge one, so each listing still
//! checks the keys it decodes against what its store can read, and a
//! forged cursor is at worst a 422 or a page of the caller's own rows.
//! The stores take keys (`Page::After`, `EventCursor`, a time and id), not
//! encoded cursors: this module is the only place that encodes them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, FieldProblem};

/// The format written; anything else is refused.
const VERSION: u8 = 1;

/// Which listing a cursor continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Listing {
    /// `GET /campaigns`: keys `[sort, sort value, id]`.
    Campaigns,
    /// `GET /campaigns/{id}/assets` and `GET /creatives`: keys
    /// `[created_at, id]` (the same order, so the same keys).
    Creatives,
    /// `GET /campaigns/{id}/events`: keys `[occurred_at in ms, event id]`.
    Events,
    /// `GET /alert-rules`: key the rule id.
    AlertRules,
    /// `GET /alert-deliveries`: key the delivery id (newest first).
    AlertDeliveries,
    /// `GET /alert-rules/{id}/firings`: key the firing id (newest first).
    AlertFirings,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<K> {
    v: u8,
    l: Listing,
    k: K,
}

/// The cursor that continues `listing` after `keys`.
pub(crate) fn encode<K: Serialize>(listing: Listing, keys: K) -> String {
    let envelope = Envelope {
        v: VERSION,
        l: listing,
        k: keys,
    };
    // Keys are strings, numbers and ids: serializing them cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&envelope).unwrap_or_default())
}

/// The keys of a cursor of `listing` in this format; `None` for anything
/// else (not base64, not JSON, another version, another listing, keys of
/// another shape).
pub(crate) fn decode<K: DeserializeOwned>(listing: Listing, raw: &str) -> Option<K> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let envelope: Envelope<K> = serde_json::from_slice(&bytes).ok()?;
    (envelope.v == VERSION && envelope.l == listing).then_some(envelope.k)
}

/// The problem every listing reports for a cursor it cannot continue from
/// (answered 422, `validation_failed`, field `cursor`).
pub(crate) fn problem() -> FieldProblem {
    FieldProblem::new(
        "cursor",
        "not a cursor of this listing (pass next_cursor back unchanged, with the same sort)",
    )
}

/// [`decode`], or the 422 of [`problem`].
pub(crate) fn decode_or_422<K: DeserializeOwned>(
    listing: Listing,
    raw: &str,
) -> Result<K, ApiError> {
    decode(listing, raw).ok_or_else(|| ApiError::Invalid(vec![problem()]))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_format_is_versioned_json_in_unpadded_base64url() {
        let id = uuid::Uuid::nil();
        let c = encode(Listing::Events, (1_700_000_000_000_i64, id));
        let json = URL_SAFE_NO_PAD.decode(&c).expect("base64url");
        assert_eq!(
            String::from_utf8(json).expect("utf-8"),
            format!(r#"{{"v":1,"l":"events","k":[1700000000000,"{id}"]}}"#)
        );
        assert!(!c.contains(['=', '+', '/']), "{c}");
    }

    #[test]
    fn other_versions_listings_and_shapes_are_refused() {
        let id = uuid::Uuid::now_v7();
        let c = encode(Listing::Creatives, ("2026-01-01T00:00:00Z", id));
        assert_eq!(
            decode::<(String, uuid::Uuid)>(Listing::Creatives, &c),
            Some(("2026-01-01T00:00:00Z".to_owned(), id))
        );
        assert_eq!(
            decode::<(String, uuid::Uuid)>(Listing::Events, &c),
            None,
            "another listing"
        );
        assert_eq!(
            decode::<(i64, uuid::Uuid)>(Listing::Creatives, &c),
            None,
            "keys of another shape"
        );
        let v2 = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"v":2,"l":"creatives","k":["2026-01-01T00:00:00Z","{id}"]}}"#
        ));
        assert_eq!(
            decode::<(String, uuid::Uuid)>(Listing::Creatives, &v2),
            None
        );
        for junk in ["", "garbage", "bm90IGEgY3Vyc29y", "e30", "%%%"] {
            assert_eq!(
                decode::<(String, uuid::Uuid)>(Listing::Creatives, junk),
                None
            );
        }
    }

    proptest! {
        #[test]
        fn keys_round_trip(sort in "[ -~]{0,20}", value in "\\PC{0,40}", id in any::<u128>()) {
            let keys = (sort, value, uuid::Uuid::from_u128(id));
            let c = encode(Listing::Campaigns, &keys);
            prop_assert_eq!(decode(Listing::Campaigns, &c), Some(keys));
        }

        #[test]
        fn any_text_decodes_or_is_refused_without_panicking(raw in "\\PC{0,80}") {
            let _ = decode::<(String, String, uuid::Uuid)>(Listing::Campaigns, &raw);
        }
    }
}
