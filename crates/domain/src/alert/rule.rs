//! An alert rule as its owner writes it: which campaigns it watches, its
//! condition, its timing, its message and where it notifies.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::Problem;
use super::condition::Condition;
use super::state::Timing;
use crate::CampaignId;

/// Longest `for` duration and cooldown: a week.
pub const MAX_SECS: u32 = 7 * 24 * 3600;
/// Most channels one rule notifies.
pub const MAX_CHANNELS: usize = 10;
/// Longest message template, bytes.
pub const MAX_TEMPLATE: usize = 4096;

/// Which of the tenant's campaigns a rule watches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One campaign.
    Campaign(CampaignId),
    /// Every campaign of one brand.
    Brand(String),
    /// Every campaign of the tenant.
    Tenant,
}

impl Scope {
    /// The campaign, if the scope is one.
    pub fn campaign(&self) -> Option<CampaignId> {
        match self {
            Self::Campaign(c) => Some(*c),
            _ => None,
        }
    }

    /// The brand, if the scope is one.
    pub fn brand(&self) -> Option<&str> {
        match self {
            Self::Brand(b) => Some(b),
            _ => None,
        }
    }

    /// Whether a campaign of `brand` with id `campaign` is in scope.
    pub fn covers(&self, campaign: CampaignId, brand: Option<&str>) -> bool {
        match self {
            Self::Campaign(c) => *c == campaign,
            Self::Brand(b) => brand == Some(b.as_str()),
            Self::Tenant => true,
        }
    }
}

/// A rule's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSpec {
    /// For people; 1 to 200 characters.
    pub name: String,
    /// What it watches.
    pub scope: Scope,
    /// When it fires.
    pub condition: Condition,
    /// Seconds the condition must hold before firing.
    pub for_secs: u32,
    /// Least seconds between two notified firings.
    pub cooldown_secs: u32,
    /// The message, a template (checked by the template engine where the
    /// rule is written).
    pub message_template: String,
    /// Channels notified, of the same tenant.
    pub channel_ids: Vec<Uuid>,
    /// Whether it is evaluated at all.
    pub enabled: bool,
}

/// The message used when a rule gives none.
pub const DEFAULT_TEMPLATE: &str = "{{ rule.name }}: {{ state }} for campaign {{ campaign.name }}{% for c in values %} · {{ c.metric }} {{ c.over }} = {% if c.value is none %}n/a{% else %}{{ c.value | round(2) }}{% endif %} ({{ c.op }} {{ c.threshold | round(2) }}){% endfor %}";

/// A rule as clients write it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// For people; 1 to 200 characters.
    pub name: String,
    /// Watch this campaign only (at most one of `campaign_id` and
    /// `brand_id`; neither: every campaign of the tenant).
    #[serde(default)]
    pub campaign_id: Option<Uuid>,
    /// Watch every campaign of this brand.
    #[serde(default)]
    pub brand_id: Option<String>,
    /// A comparison `{"metric","over","op","value"}`, a group
    /// `{"all": [...]}` / `{"any": [...]}` (3 deep, 20 terms), or
    /// `{"budget_exhausted": "total" | "daily" | "either"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub condition: Value,
    /// Seconds the condition must hold before the rule fires (0 to a
    /// week; default 0).
    #[serde(default)]
    pub for_secs: u32,
    /// Least seconds between two notified firings (0 to a week; default
    /// 900).
    #[serde(default = "default_cooldown")]
    pub cooldown_secs: u32,
    /// A Jinja-style template of the message (absent or null: the default,
    /// a line naming the rule, the campaign and every value).
    #[serde(default)]
    pub message_template: Option<String>,
    /// Channels to notify (0 to 10, of your tenant).
    #[serde(default)]
    pub channel_ids: Vec<Uuid>,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_cooldown() -> u32 {
    900
}

fn yes() -> bool {
    true
}

impl RuleBody {
    /// Checks every field; every problem at once, in field order.
    pub fn validate(self) -> Result<RuleSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            problems.push(Problem::new("name", "must be 1 to 200 characters"));
        }
        let brand = self.brand_id.map(|b| b.trim().to_owned());
        let scope = match (self.campaign_id, brand) {
            (Some(_), Some(_)) => {
                problems.push(Problem::new(
                    "brand_id",
                    "give a campaign_id or a brand_id, not both",
                ));
                Scope::Tenant
            }
            (Some(c), None) => Scope::Campaign(CampaignId::from_uuid(c)),
            (None, Some(b)) if b.is_empty() || b.chars().count() > 200 => {
                problems.push(Problem::new("brand_id", "must be 1 to 200 characters"));
                Scope::Tenant
            }
            (None, Some(b)) => Scope::Brand(b),
            (None, None) => Scope::Tenant,
        };
        let condition = Condition::parse(&self.condition, "condition", &mut problems);
        for (field, v) in [
            ("for_secs", self.for_secs),
            ("cooldown_secs", self.cooldown_secs),
        ] {
            if v > MAX_SECS {
                problems.push(Problem::new(
                    field,
                    format!("must be at most {MAX_SECS} (a week)"),
                ));
            }
        }
        let message_template = self
            .message_template
            .unwrap_or_else(|| DEFAULT_TEMPLATE.to_owned());
        if message_template.trim().is_empty() || message_template.len() > MAX_TEMPLATE {
            problems.push(Problem::new(
                "message_template",
                format!("must be 1 to {MAX_TEMPLATE} bytes"),
            ));
        }
        let mut channel_ids = self.channel_ids;
        channel_ids.sort_unstable();
        channel_ids.dedup();
        if channel_ids.len() > MAX_CHANNELS {
            problems.push(Problem::new(
                "channel_ids",
                format!("at most {MAX_CHANNELS} channels"),
            ));
        }
        match condition {
            Some(condition) if problems.is_empty() => Ok(RuleSpec {
                name,
                scope,
                condition,
                for_secs: self.for_secs,
                cooldown_secs: self.cooldown_secs,
                message_template,
                channel_ids,
                enabled: self.enabled,
            }),
            _ => Err(problems),
        }
    }

    /// The body that writes `spec` (a merge patch applies to it).
    pub fn of(spec: &RuleSpec) -> Self {
        Self {
            name: spec.name.clone(),
            campaign_id: spec.scope.campaign().map(|c| *c.as_uuid()),
            brand_id: spec.scope.brand().map(str::to_owned),
            condition: serde_json::to_value(&spec.condition).unwrap_or(Value::Null),
            for_secs: spec.for_secs,
            cooldown_secs: spec.cooldown_secs,
            // The default is answered as absent, so writing back what was
            // read keeps following the default.
            message_template: (spec.message_template != DEFAULT_TEMPLATE)
                .then(|| spec.message_template.clone()),
            channel_ids: spec.channel_ids.clone(),
            enabled: spec.enabled,
        }
    }
}

impl RuleSpec {
    /// Its timing.
    pub fn timing(&self) -> Timing {
        Timing {
            hold_for: chrono::TimeDelta::seconds(i64::from(self.for_secs)),
            cooldown: chrono::TimeDelta::seconds(i64::from(self.cooldown_secs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: Value) -> RuleBody {
        serde_json::from_value(v).expect("body")
    }

    #[test]
    fn defaults_and_round_trip() {
        let spec = body(json!({
            "name": " CTR low ",
            "condition": {"metric": "ctr", "over": "today", "op": "<", "value": 0.5},
        }))
        .validate()
        .expect("valid");
        assert_eq!(spec.name, "CTR low");
        assert_eq!(spec.scope, Scope::Tenant);
        assert_eq!(
            (spec.for_secs, spec.cooldown_secs, spec.enabled),
            (0, 900, true)
        );
        assert_eq!(spec.message_template, DEFAULT_TEMPLATE);
        assert_eq!(RuleBody::of(&spec).validate().expect("valid"), spec);
    }

    #[test]
    fn every_problem_at_once() {
        let problems = body(json!({
            "name": "",
            "campaign_id": Uuid::nil(),
            "brand_id": "acme",
            "condition": {"metric": "nope", "over": "today", "op": "<", "value": 1},
            "for_secs": MAX_SECS + 1,
            "message_template": "",
            "channel_ids": (0..11).map(Uuid::from_u128).collect::<Vec<_>>(),
        }))
        .validate()
        .expect_err("invalid");
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "brand_id",
                "condition.metric",
                "for_secs",
                "message_template",
                "channel_ids"
            ]
        );
    }

    #[test]
    fn scopes_cover_their_campaigns() {
        let c = CampaignId::from_uuid(Uuid::from_u128(7));
        let other = CampaignId::from_uuid(Uuid::from_u128(8));
        assert!(Scope::Campaign(c).covers(c, None));
        assert!(!Scope::Campaign(c).covers(other, None));
        assert!(Scope::Brand("a".into()).covers(other, Some("a")));
        assert!(!Scope::Brand("a".into()).covers(other, None));
        assert!(Scope::Tenant.covers(other, Some("b")));
    }
}
