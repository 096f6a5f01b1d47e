//! What the evaluator knows of the campaigns it watches, kept in memory
//! and refreshed in bulk beside the evaluating loop, never inside it: the
//! campaign (zone, budget, status), its tenant's enabled rules, and what
//! occurred before its local day began.
//!
//! The loop reads the store itself only for what it has never seen (a
//! campaign's first result, a tenant's first campaign) and when a
//! campaign's local day changes. Everything else is read again by
//! [`Facts::run`]: every `cache_ms` the campaigns and the rules, one
//! statement each for all of them, and the day bases older than
//! [`DAY_REFRESH`], one campaign at a time. So a rule or budget change
//! takes effect within `cache_ms` plus one refresh, an event that arrives
//! late for yesterday moves today's figure within [`DAY_REFRESH`] plus
//! one refresh, and a slow store delays a refresh, never an evaluation.
//!
//! A failed read keeps what was known; what was never known is asked for
//! again at the next result.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use adpulse_domain::aggregate::{Counts, local_midnight};
use adpulse_domain::alert::RuleRecord;
use adpulse_domain::alert::ledger::AlertCampaign;
use adpulse_domain::budget::local_day;
use adpulse_domain::ports::AlertLedger;
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, NaiveDate, Utc};

use crate::budget::zone;

/// How long the counts before a campaign's local day are trusted.
pub const DAY_REFRESH: Duration = Duration::from_secs(60);

/// What occurred before a local day began.
#[derive(Clone, Copy, Debug)]
struct DayStart {
    day: NaiveDate,
    before: Counts,
    fetched: Instant,
}

#[derive(Default)]
struct Known {
    /// `None`: deleted or unknown.
    campaigns: HashMap<CampaignId, Option<AlertCampaign>>,
    rules: HashMap<TenantId, Arc<Vec<RuleRecord>>>,
    days: HashMap<CampaignId, DayStart>,
}

/// The evaluator's view of its campaigns, shared with the task that
/// refreshes it.
pub struct Facts {
    ledger: Arc<dyn AlertLedger>,
    known: RwLock<Known>,
}

impl Facts {
    /// Nothing known yet; reads `ledger`.
    pub fn new(ledger: Arc<dyn AlertLedger>) -> Self {
        Self {
            ledger,
            known: RwLock::new(Known::default()),
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Known) -> T) -> T {
        f(&self
            .known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut Known) -> T) -> T {
        f(&mut self
            .known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// The campaign as last read, or read now if never seen; `None` if
    /// deleted, unknown, or not readable now.
    pub async fn campaign(&self, id: CampaignId) -> Option<AlertCampaign> {
        if let Some(known) = self.read(|k| k.campaigns.get(&id).cloned()) {
            return known;
        }
        match self.ledger.alert_campaigns(&[id]).await {
            Ok(found) => {
                let c = found.into_iter().next();
                self.write(|k| k.campaigns.insert(id, c.clone()));
                c
            }
            Err(e) => {
                tracing::warn!(campaign = %id, error = %e, "reading a campaign failed");
                None
            }
        }
    }

    /// The tenant's enabled rules as last read, or read now if never
    /// seen (none if not readable now).
    pub async fn rules(&self, tenant: TenantId) -> Arc<Vec<RuleRecord>> {
        if let Some(known) = self.read(|k| k.rules.get(&tenant).cloned()) {
            return known;
        }
        match self.ledger.enabled_rules(&[tenant]).await {
            Ok(rules) => {
                let rules = Arc::new(rules);
                self.write(|k| k.rules.insert(tenant, Arc::clone(&rules)));
                rules
            }
            Err(e) => {
                tracing::warn!(%tenant, error = %e, "reading rules failed");
                Arc::default()
            }
        }
    }

    /// The counts that occurred before the campaign's local day of `now`
    /// began: as last read for that day, or read now; `None` if they
    /// cannot be read (the caller falls back to the UTC day).
    pub async fn before_today(
        &self,
        campaign: &AlertCampaign,
        now: DateTime<Utc>,
    ) -> Option<Counts> {
        let day = local_day(zone(campaign), now);
        let kept = self.read(|k| k.days.get(&campaign.id).copied());
        if let Some(k) = kept
            && k.day == day
        {
            return Some(k.before);
        }
        match self.day_start(campaign, day).await {
            Ok(d) => {
                self.write(|k| k.days.insert(campaign.id, d));
                Some(d.before)
            }
            Err(e) => {
                tracing::warn!(campaign = %campaign.id, error = %e, "reading today's base failed");
                None
            }
        }
    }

    async fn day_start(
        &self,
        campaign: &AlertCampaign,
        day: NaiveDate,
    ) -> Result<DayStart, adpulse_domain::store::StoreError> {
        let tz = zone(campaign);
        let base = self
            .ledger
            .day_base(campaign.id, tz.name(), local_midnight(tz, day))
            .await?;
        Ok(DayStart {
            day,
            before: base.before(),
            fetched: Instant::now(),
        })
    }

    /// Forgets campaigns no longer watched (a partition revoked).
    pub fn forget(&self, ids: impl IntoIterator<Item = CampaignId>) {
        self.write(|k| {
            for id in ids {
                k.campaigns.remove(&id);
                k.days.remove(&id);
            }
        });
    }

    /// Reads again, every `every` until `shutdown`, what is known.
    pub async fn run(&self, every: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(every) => {}
            }
            let started = Instant::now();
            self.refresh().await;
            crate::metrics::refresh(started.elapsed());
        }
    }

    /// Reads again the known campaigns and rules (one statement each) and
    /// the day bases older than [`DAY_REFRESH`].
    pub async fn refresh(&self) {
        let (ids, tenants): (Vec<CampaignId>, Vec<TenantId>) = self.read(|k| {
            (
                k.campaigns.keys().copied().collect(),
                k.rules.keys().copied().collect(),
            )
        });
        match self.ledger.alert_campaigns(&ids).await {
            Ok(found) => {
                let mut found: HashMap<CampaignId, AlertCampaign> =
                    found.into_iter().map(|c| (c.id, c)).collect();
                self.write(|k| {
                    for id in &ids {
                        // Forgotten meanwhile: stays forgotten.
                        if let Some(slot) = k.campaigns.get_mut(id) {
                            *slot = found.remove(id);
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "reading campaigns again failed"),
        }
        match self.ledger.enabled_rules(&tenants).await {
            Ok(rules) => {
                let mut by: HashMap<TenantId, Vec<RuleRecord>> =
                    tenants.iter().map(|t| (*t, Vec::new())).collect();
                for r in rules {
                    by.entry(r.tenant).or_default().push(r);
                }
                self.write(|k| {
                    for (t, rules) in by {
                        k.rules.insert(t, Arc::new(rules));
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "reading rules again failed"),
        }
        self.refresh_days().await;
    }

    async fn refresh_days(&self) {
        let due: Vec<(AlertCampaign, NaiveDate)> = self.read(|k| {
            k.days
                .iter()
                .filter(|(_, d)| d.fetched.elapsed() >= DAY_REFRESH)
                .filter_map(|(id, d)| Some((k.campaigns.get(id)?.clone()?, d.day)))
                .collect()
        });
        for (campaign, day) in due {
            match self.day_start(&campaign, day).await {
                Ok(d) => self.write(|k| {
                    // Only if still that day: the loop may have moved on.
                    if k.days.get(&campaign.id).is_some_and(|old| old.day == day) {
                        k.days.insert(campaign.id, d);
                    }
                }),
                Err(e) => {
                    tracing::warn!(campaign = %campaign.id, error = %e, "reading today's base again failed");
                }
            }
        }
    }
}
