//! A campaign as clients write it (create and replace take it whole; a
//! merge patch is applied to it first), and its validation into what the
//! store writes. Validation reports every problem at once, each with the
//! path of its field, in field order, so a form can mark them all.

use adpulse_domain::Channel;
use adpulse_domain::store::CampaignWrite;
use chrono::{DateTime, Datelike as _, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, FieldProblem};

/// Objectives a campaign may pursue.
pub const OBJECTIVES: [&str; 6] = [
    "awareness",
    "reach",
    "traffic",
    "engagement",
    "consideration",
    "conversions",
];

/// A campaign as clients write it (create and replace; patch merges into
/// it).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    #[schema(min_length = 1, max_length = 200)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) brand_id: Option<String>,
    #[serde(default)]
    pub(super) budget: Option<Budget>,
    #[serde(default)]
    pub(super) schedule: Option<Schedule>,
    #[serde(default)]
    pub(super) objectives: Vec<String>,
    #[serde(default)]
    pub(super) channels: Vec<String>,
}

/// Budget in micros of `currency` (ISO 4217).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[schema(minimum = 0)]
    total_micros: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
    #[serde(default)]
    daily_cap_micros: Option<i64>,
}

/// When the campaign runs, and the time zone of its days (IANA).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default)]
    start: Option<DateTime<Utc>>,
    #[serde(default)]
    end: Option<DateTime<Utc>>,
    #[serde(default = "utc")]
    timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

impl CampaignBody {
    /// Checks every field; all problems at once.
    pub(super) fn validate(self) -> Result<CampaignWrite, ApiError> {
        let mut problems = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            problems.push(FieldProblem::new("name", "must be 1 to 200 characters"));
        }
        let brand_id = self.brand_id.map(|b| b.trim().to_owned());
        if brand_id
            .as_ref()
            .is_some_and(|b| b.is_empty() || b.chars().count() > 100)
        {
            problems.push(FieldProblem::new("brand_id", "must be 1 to 100 characters"));
        }
        if let Some(b) = &self.budget {
            b.check(&mut problems);
        }
        let schedule = self.schedule.unwrap_or(Schedule {
            start: None,
            end: None,
            timezone: utc(),
        });
        schedule.check(&mut problems);
        check_choices(
            "objectives",
            &self.objectives,
            |o| OBJECTIVES.contains(&o),
            &format!("must be one of {}", OBJECTIVES.join(", ")),
            &mut problems,
        );
        check_choices(
            "channels",
            &self.channels,
            |c| serde_json::from_value::<Channel>(Value::String(c.to_owned())).is_ok(),
            "must be one of display, social, search, video, native",
            &mut problems,
        );
        if !problems.is_empty() {
            return Err(ApiError::Invalid(problems));
        }
        Ok(CampaignWrite {
            name,
            brand_id,
            budget_total_micros: self.budget.as_ref().map(|b| b.total_micros),
            budget_currency: self.budget.as_ref().map(|b| b.currency.clone()),
            budget_daily_cap_micros: self.budget.as_ref().and_then(|b| b.daily_cap_micros),
            schedule_start: schedule.start,
            schedule_end: schedule.end,
            timezone: schedule.timezone,
            objectives: self.objectives,
            channels: self.channels,
        })
    }

    /// The body that would write `w`: what a merge patch applies to, and
    /// what the API shows of a stored campaign.
    pub(super) fn of(w: &CampaignWrite) -> Self {
        Self {
            name: w.name.clone(),
            brand_id: w.brand_id.clone(),
            budget: match (w.budget_total_micros, &w.budget_currency) {
                (Some(total), Some(currency)) => Some(Budget {
                    total_micros: total,
                    currency: currency.clone(),
                    daily_cap_micros: w.budget_daily_cap_micros,
                }),
                _ => None,
            },
            schedule: Some(Schedule {
                start: w.schedule_start,
                end: w.schedule_end,
                timezone: w.timezone.clone(),
            }),
            objectives: w.objectives.clone(),
            channels: w.channels.clone(),
        }
    }
}

impl Budget {
    fn check(&self, problems: &mut Vec<FieldProblem>) {
        if self.total_micros < 0 {
            problems.push(FieldProblem::new(
                "budget.total_micros",
                "must not be negative",
            ));
        }
        if !(self.currency.len() == 3 && self.currency.bytes().all(|c| c.is_ascii_uppercase())) {
            problems.push(FieldProblem::new(
                "budget.currency",
                "must be an ISO 4217 code like EUR",
            ));
        }
        match self.daily_cap_micros {
            Some(cap) if cap < 0 => problems.push(FieldProblem::new(
                "budget.daily_cap_micros",
                "must not be negative",
            )),
            Some(cap) if cap > self.total_micros => problems.push(FieldProblem::new(
                "budget.daily_cap_micros",
                "must not exceed the total budget",
            )),
            _ => {}
        }
    }
}

impl Schedule {
    fn check(&self, problems: &mut Vec<FieldProblem>) {
        if let (Some(start), Some(end)) = (self.start, self.end)
            && end <= start
        {
            problems.push(FieldProblem::new(
                "schedule.end",
                "must be after schedule.start",
            ));
        }
        // The years every store holds (Postgres refuses year 0).
        for (field, t) in [("schedule.start", self.start), ("schedule.end", self.end)] {
            if t.is_some_and(|t| !(1970..=9999).contains(&t.year())) {
                problems.push(FieldProblem::new(field, "must be between 1970 and 9999"));
            }
        }
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            problems.push(FieldProblem::new(
                "schedule.timezone",
                "must be an IANA time zone like Europe/Berlin",
            ));
        }
    }
}

/// Each of `items` (the list `field`) must be `allowed`, and appear once.
fn check_choices(
    field: &str,
    items: &[String],
    allowed: impl Fn(&str) -> bool,
    must_be: &str,
    problems: &mut Vec<FieldProblem>,
) {
    for (i, item) in items.iter().enumerate() {
        if !allowed(item) {
            problems.push(FieldProblem::new(format!("{field}[{i}]"), must_be));
        } else if items[..i].contains(item) {
            problems.push(FieldProblem::new(format!("{field}[{i}]"), "repeated"));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn validation_names_every_bad_field() {
        let body: CampaignBody = serde_json::from_value(json!({
            "name": " ",
            "budget": {"total_micros": 10, "currency": "eur", "daily_cap_micros": 20},
            "schedule": {"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z", "timezone": "Mars/Base"},
            "objectives": ["reach", "reach", "fame"],
            "channels": ["tv"]
        }))
        .expect("shape");
        let Err(ApiError::Invalid(problems)) = body.validate() else {
            panic!("invalid");
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "budget.currency",
                "budget.daily_cap_micros",
                "schedule.end",
                "schedule.timezone",
                "objectives[1]",
                "objectives[2]",
                "channels[0]"
            ]
        );
    }
}
