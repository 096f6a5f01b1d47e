//! Recently seen events of one partition, to count a resent event once.
//!
//! The idempotency key is the pair (campaign, `event_id`): senders choose
//! event ids, often from something several advertisers see (an exchange's
//! auction id), so two campaigns (of one tenant or of two) may carry the
//! same id and both count; a campaign's own resend counts once. The raw
//! archives key rows by campaign too. A campaign's events all land on one
//! partition, so the set is per partition. Entries expire by record time
//! after the horizon. The oldest offset still remembered tells where to
//! start reading to rebuild the set after a restart.

use std::collections::{HashMap, VecDeque};

use adpulse_domain::{CampaignId, EventId};

/// The idempotency key of an event.
pub type Key = (CampaignId, EventId);

/// Events seen within the horizon, oldest first.
pub struct Dedup {
    horizon_ms: i64,
    seen: HashMap<Key, i64>,
    order: VecDeque<(Key, i64, i64)>,
}

impl Dedup {
    /// An empty set remembering ids for `horizon_ms` of record time.
    pub fn new(horizon_ms: i64) -> Self {
        Self {
            horizon_ms,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers `id` seen at `offset` with record time `ts_ms`; returns
    /// false if it was already remembered (a resend).
    pub fn insert(&mut self, id: Key, ts_ms: i64, offset: i64) -> bool {
        self.expire(ts_ms);
        if self.seen.contains_key(&id) {
            return false;
        }
        self.seen.insert(id, offset);
        self.order.push_back((id, ts_ms, offset));
        true
    }

    fn expire(&mut self, now_ms: i64) {
        while let Some((id, ts, offset)) = self.order.front().copied() {
            if ts >= now_ms.saturating_sub(self.horizon_ms) {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&id) == Some(&offset) {
                self.seen.remove(&id);
            }
        }
    }

    /// The offset of the oldest id remembered: reading from there rebuilds
    /// this set.
    pub fn oldest_offset(&self) -> Option<i64> {
        self.order.front().map(|(_, _, o)| *o)
    }

    /// Ids remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Key {
        (CAMPAIGN, EventId::from_uuid(uuid::Uuid::from_u128(n)))
    }

    const CAMPAIGN: CampaignId = CampaignId::from_uuid(uuid::Uuid::from_u128(7));

    #[test]
    fn the_same_event_id_in_two_campaigns_is_two_events() {
        let mut d = Dedup::new(1_000);
        let other = CampaignId::from_uuid(uuid::Uuid::from_u128(8));
        let x = EventId::from_uuid(uuid::Uuid::from_u128(1));
        assert!(d.insert((CAMPAIGN, x), 0, 1));
        assert!(d.insert((other, x), 1, 2), "another campaign's event");
        assert!(!d.insert((other, x), 2, 3), "its own resend");
        assert!(!d.insert((CAMPAIGN, x), 3, 4), "its own resend");
    }

    #[test]
    fn resends_within_the_horizon_are_caught_and_old_ids_expire() {
        let mut d = Dedup::new(1_000);
        assert!(d.insert(id(1), 0, 10));
        assert!(!d.insert(id(1), 500, 11), "resent within the horizon");
        assert!(d.insert(id(2), 900, 12));
        assert_eq!(d.oldest_offset(), Some(10));
        assert!(d.insert(id(3), 1_600, 13), "expires id 1 (t=0 < 600)");
        assert_eq!(d.oldest_offset(), Some(12));
        assert!(
            d.insert(id(1), 1_700, 14),
            "after the horizon an id counts again"
        );
        assert_eq!(d.len(), 3);
    }
}
