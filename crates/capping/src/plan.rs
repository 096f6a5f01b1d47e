//! From a campaign's frequency cap to what a store counts: the window at
//! decision time, the counter's field (the campaign, or the campaign and
//! ad for ad-level caps) and the cap.

use adpulse_domain::CampaignId;
use adpulse_domain::targeting::{CapScope, FrequencyCap};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::Window;

/// `bytes` as unpadded base64url (16 bytes in 22 characters): counter
/// names are short, which matters at tens of millions of counters.
pub fn compact(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A campaign's name in counters: 8 bytes of the SHA-256 of its id, in 11
/// characters (counters are per person, so it only has to tell apart the
/// campaigns one person sees; two of a million campaigns share a name with
/// probability about 3·10⁻⁸).
pub fn campaign_field(campaign: CampaignId) -> String {
    use sha2::{Digest, Sha256};
    compact(&Sha256::digest(campaign.as_uuid().as_bytes())[..8])
}

/// One counter to check and bump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The window the decision counts in.
    pub window: Window,
    /// The campaign's id, compacted, then `:ad` for ad-level caps.
    pub field: String,
    /// Impressions allowed in the window.
    pub cap: u32,
}

/// A decision that cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The campaign caps each ad, and the request named none.
    #[error("the campaign caps each ad: send ad_id")]
    AdRequired,
}

/// Plans the decision for `campaign` (and `ad`) at `now` under `cap`, in
/// the campaign's time zone `tz`.
pub fn plan(
    cap: &FrequencyCap,
    tz: Tz,
    campaign: CampaignId,
    ad: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Planned, PlanError> {
    let id = campaign_field(campaign);
    let field = match cap.scope {
        CapScope::Campaign => id,
        CapScope::Ad => format!("{id}:{}", ad.ok_or(PlanError::AdRequired)?),
    };
    Ok(Planned {
        window: Window::at(now, cap.per, cap.window, tz),
        field,
        cap: cap.max,
    })
}

#[cfg(test)]
mod tests {
    use adpulse_domain::targeting::{CapPeriod, CapWindow};

    use super::*;

    #[test]
    fn ad_level_caps_count_per_ad_and_need_one() {
        let campaign = CampaignId::from_uuid(uuid::Uuid::nil());
        let now = Utc::now();
        let mut cap = FrequencyCap {
            max: 3,
            per: CapPeriod::Day,
            scope: CapScope::Campaign,
            window: CapWindow::Calendar,
        };
        let p = plan(&cap, chrono_tz::UTC, campaign, Some("ad-1"), now).expect("plan");
        let name = campaign_field(campaign);
        assert_eq!(name.len(), 11);
        assert_eq!((p.field.as_str(), p.cap), (name.as_str(), 3));
        cap.scope = CapScope::Ad;
        let p = plan(&cap, chrono_tz::UTC, campaign, Some("ad-1"), now).expect("plan");
        assert_eq!(p.field, format!("{name}:ad-1"));
        assert_eq!(
            plan(&cap, chrono_tz::UTC, campaign, None, now),
            Err(PlanError::AdRequired)
        );
    }
}
