//! One evaluation: every rule that covers a campaign, against one sample
//! of it, from the rule's stored state to its next one. What changed (new
//! states, firings and resolutions, and a delivery per channel of each
//! notified one) is added to the commit the caller writes in one
//! transaction with its stream position.
//!
//! Given the same stored states, results and times, it decides the same
//! way, so a replay after a crash repeats exactly what was not committed.

use std::collections::HashMap;

use adpulse_domain::alert::ledger::{
    AlertCampaign, AlertCommit, DeliveryRecord, DeliveryStatus, FiringKind, FiringRecord,
    StateWrite,
};
use adpulse_domain::alert::message::{self, CampaignContext, MessageContext, Named, ValueContext};
use adpulse_domain::alert::{AlertState, Observed, RuleRecord, Sample, Transition};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

/// What one pass over a campaign's rules did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Rules evaluated.
    pub evaluated: u64,
    /// Firings (notified or not).
    pub fired: u64,
    /// Resolutions.
    pub resolved: u64,
}

/// Evaluates every rule of `rules` that covers `campaign` against
/// `sample` at `now`, updating `states` (rule → state) and adding what
/// changed to `out`.
pub fn evaluate(
    campaign: &AlertCampaign,
    rules: &[RuleRecord],
    states: &mut HashMap<Uuid, AlertState>,
    sample: &Sample,
    now: DateTime<Utc>,
    out: &mut AlertCommit,
) -> Pass {
    let mut pass = Pass::default();
    for rule in rules.iter().filter(|r| {
        r.tenant == campaign.tenant
            && r.spec.enabled
            && r.spec
                .scope
                .covers(campaign.id, campaign.brand_id.as_deref())
    }) {
        pass.evaluated += 1;
        let mut seen = Vec::new();
        let holds = rule.spec.condition.holds(sample, &mut seen);
        let old = states.get(&rule.id).copied().unwrap_or_default();
        let (new, transition) = old.step(holds, now, rule.spec.timing());
        if new != old {
            states.insert(rule.id, new);
            out.states.push(StateWrite {
                rule: rule.id,
                campaign: campaign.id,
                tenant: campaign.tenant,
                state: new,
            });
        }
        let (kind, notify) = match transition {
            None => continue,
            Some(Transition::Fired { notify }) => (FiringKind::Fired, notify),
            Some(Transition::Resolved { notify }) => (FiringKind::Resolved, notify),
        };
        match kind {
            FiringKind::Fired => pass.fired += 1,
            FiringKind::Resolved => pass.resolved += 1,
        }
        record(campaign, rule, kind, notify, &seen, now, out);
    }
    pass
}

/// Adds a firing or resolution, and a delivery per channel if notified.
fn record(
    campaign: &AlertCampaign,
    rule: &RuleRecord,
    kind: FiringKind,
    notify: bool,
    seen: &[Observed],
    now: DateTime<Utc>,
    out: &mut AlertCommit,
) {
    let ctx = context(campaign, rule, kind, seen, now);
    // A template that fails at run time (it rendered when the rule was
    // written) still notifies, saying so.
    let text = message::render(&rule.spec.message_template, &ctx).unwrap_or_else(|e| {
        format!(
            "{}: {} for campaign {} (the message template {e})",
            rule.spec.name, ctx.state, campaign.name
        )
    });
    let values = serde_json::to_value(&ctx.values).unwrap_or(Value::Null);
    let id = Uuid::now_v7();
    let payload = json!({
        "type": format!("alert.{}", kind.as_str()),
        "timestamp": ctx.at,
        "data": {
            "firing_id": id,
            "tenant_id": campaign.tenant,
            "rule": {"id": rule.id, "name": rule.spec.name},
            "campaign": {"id": campaign.id, "name": campaign.name, "brand_id": campaign.brand_id},
            "state": ctx.state,
            "message": text,
            "values": values,
        }
    });
    if notify {
        for channel in &rule.spec.channel_ids {
            out.deliveries.push(DeliveryRecord {
                id: Uuid::now_v7(),
                firing: id,
                rule: rule.id,
                channel: *channel,
                tenant: campaign.tenant,
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: Some(now),
                last_error: None,
                payload: payload.clone(),
                created_at: now,
                updated_at: now,
            });
        }
    }
    out.firings.push(FiringRecord {
        id,
        rule: rule.id,
        campaign: campaign.id,
        tenant: campaign.tenant,
        kind,
        at: now,
        notified: notify,
        message: text,
        values,
    });
}

fn context(
    campaign: &AlertCampaign,
    rule: &RuleRecord,
    kind: FiringKind,
    seen: &[Observed],
    now: DateTime<Utc>,
) -> MessageContext {
    MessageContext {
        rule: Named {
            id: rule.id.to_string(),
            name: rule.spec.name.clone(),
        },
        campaign: CampaignContext {
            id: campaign.id.to_string(),
            name: campaign.name.clone(),
            brand_id: campaign.brand_id.clone(),
        },
        state: match kind {
            FiringKind::Fired => "firing",
            FiringKind::Resolved => "resolved",
        },
        at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        values: seen
            .iter()
            .map(|o| ValueContext {
                metric: o.comparison.metric.as_str(),
                over: o.comparison.over.to_string(),
                op: o.comparison.op.as_str(),
                threshold: o.comparison.value,
                value: o.value,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use adpulse_domain::aggregate::Counts;
    use adpulse_domain::alert::{RuleBody, Scope};
    use adpulse_domain::budget::BudgetLimits;
    use adpulse_domain::{CampaignId, CampaignStatus, TenantId};
    use chrono::TimeDelta;

    use super::*;

    fn campaign() -> AlertCampaign {
        AlertCampaign {
            id: CampaignId::from_uuid(Uuid::from_u128(1)),
            tenant: TenantId::from_uuid(Uuid::from_u128(2)),
            name: "spring".into(),
            brand_id: Some("acme".into()),
            timezone: "UTC".into(),
            budget: BudgetLimits {
                total_micros: Some(1_000),
                daily_cap_micros: None,
            },
            status: CampaignStatus::Active,
        }
    }

    fn rule(id: u128, body: Value) -> RuleRecord {
        let spec = serde_json::from_value::<RuleBody>(body)
            .expect("body")
            .validate()
            .expect("valid");
        RuleRecord {
            id: Uuid::from_u128(id),
            tenant: campaign().tenant,
            spec,
            version: 1,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn spend(n: i64) -> Sample {
        let c = Counts {
            cost_micros: n,
            impressions: 100,
            ..Counts::default()
        };
        Sample {
            lifetime: c,
            today: c,
            budget: campaign().budget,
            ..Sample::default()
        }
    }

    #[test]
    fn fires_notifies_each_channel_and_resolves() {
        let ch = [Uuid::from_u128(10), Uuid::from_u128(11)];
        let rules = [
            rule(
                5,
                json!({"name": "spent", "condition": {"budget_exhausted": "total"}, "channel_ids": ch}),
            ),
            // Another brand's rule is not evaluated.
            rule(
                6,
                json!({"name": "other", "brand_id": "zeta", "condition": {"budget_exhausted": "either"}}),
            ),
        ];
        let mut states = HashMap::new();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("t");
        let mut out = AlertCommit::default();
        let pass = evaluate(&campaign(), &rules, &mut states, &spend(999), t0, &mut out);
        assert_eq!((pass.evaluated, pass.fired, out.is_empty()), (1, 0, true));

        let pass = evaluate(
            &campaign(),
            &rules,
            &mut states,
            &spend(1_000),
            t0,
            &mut out,
        );
        assert_eq!(pass.fired, 1);
        assert_eq!(
            (out.states.len(), out.firings.len(), out.deliveries.len()),
            (1, 1, 2)
        );
        let f = &out.firings[0];
        assert_eq!((f.kind, f.notified), (FiringKind::Fired, true));
        assert!(
            out.deliveries
                .iter()
                .all(|d| d.firing == f.id && d.payload["type"] == "alert.fired")
        );
        assert_eq!(
            out.deliveries[0].payload["data"]["campaign"]["name"],
            "spring"
        );

        // Nothing new while it keeps holding; resolution when it stops.
        let mut more = AlertCommit::default();
        evaluate(
            &campaign(),
            &rules,
            &mut states,
            &spend(2_000),
            t0,
            &mut more,
        );
        assert!(more.is_empty());
        let later = t0 + TimeDelta::seconds(1);
        let mut budget = spend(2_000);
        budget.budget.total_micros = Some(1_000_000);
        let pass = evaluate(&campaign(), &rules, &mut states, &budget, later, &mut more);
        assert_eq!(pass.resolved, 1);
        assert_eq!(more.deliveries[0].payload["data"]["state"], "resolved");
        assert_eq!(rules[1].spec.scope, Scope::Brand("zeta".into()));
    }

    #[test]
    fn the_message_is_the_rule_s_template_rendered() {
        let rules = [rule(
            5,
            json!({"name": "cpm", "condition": {"metric": "cpm", "over": "today", "op": ">", "value": 5000},
                   "message_template": "{{ campaign.name }} CPM {{ values[0].value }} > {{ values[0].threshold }}"}),
        )];
        let mut out = AlertCommit::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("t");
        evaluate(
            &campaign(),
            &rules,
            &mut HashMap::new(),
            &spend(1_000),
            t0,
            &mut out,
        );
        assert_eq!(out.firings[0].message, "spring CPM 10000.0 > 5000.0");
        // No channel: history only.
        assert!(out.deliveries.is_empty());
    }
}
