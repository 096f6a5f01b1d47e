//! What an alert rule watches: comparisons of a campaign's metrics over a
//! span, grouped with AND (`all`) and OR (`any`), and the budget stop.
//!
//! Rules arrive as JSON written by people, so the reader here walks the
//! document itself and reports every problem with the path of its field
//! (`condition.any[1].op`), rather than the first one serde met.
//!
//! ```json
//! {"any": [
//!   {"metric": "ctr", "over": "today", "op": "<", "value": 0.5},
//!   {"all": [{"metric": "spend", "over": "last_15m", "op": ">", "value": 5000000},
//!            {"budget_exhausted": "either"}]}
//! ]}
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Problem;
use super::sample::Sample;
use crate::budget::BudgetStop;

/// Deepest nesting of groups (a group in a group in a group).
pub const MAX_DEPTH: usize = 3;
/// Most comparisons in one rule.
pub const MAX_TERMS: usize = 20;
/// Longest trailing span, minutes (the live series keeps an hour).
pub const MAX_RECENT_MINUTES: u16 = 60;

/// A number computed from a campaign's counts over a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Cost, micros.
    Spend,
    /// Spend as a percentage of the budget: of `budget.total` over the
    /// lifetime, of the daily cap over today.
    BudgetUsedPct,
    /// Impressions.
    Impressions,
    /// Clicks.
    Clicks,
    /// Conversions.
    Conversions,
    /// Clicks per 100 impressions (a percentage).
    Ctr,
    /// Cost per click, micros.
    Cpc,
    /// Cost per 1,000 impressions, micros.
    Cpm,
    /// Cost per conversion, micros.
    Cpa,
    /// Revenue per unit of cost (2.0: twice what was spent came back).
    Roas,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Self; 10] = [
        Self::Spend,
        Self::BudgetUsedPct,
        Self::Impressions,
        Self::Clicks,
        Self::Conversions,
        Self::Ctr,
        Self::Cpc,
        Self::Cpm,
        Self::Cpa,
        Self::Roas,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spend => "spend",
            Self::BudgetUsedPct => "budget_used_pct",
            Self::Impressions => "impressions",
            Self::Clicks => "clicks",
            Self::Conversions => "conversions",
            Self::Ctr => "ctr",
            Self::Cpc => "cpc",
            Self::Cpm => "cpm",
            Self::Cpa => "cpa",
            Self::Roas => "roas",
        }
    }
}

/// The span a metric is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Over {
    /// The calendar day in the campaign's zone, so far.
    Today,
    /// Since the campaign began.
    Lifetime,
    /// The trailing minutes, by event time (`last_15m`; 1 to 60).
    Recent(u16),
}

impl fmt::Display for Over {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Today => f.write_str("today"),
            Self::Lifetime => f.write_str("lifetime"),
            Self::Recent(m) => write!(f, "last_{m}m"),
        }
    }
}

impl std::str::FromStr for Over {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "today" => Ok(Self::Today),
            "lifetime" => Ok(Self::Lifetime),
            _ => {
                let m: u16 = s
                    .strip_prefix("last_")
                    .and_then(|r| r.strip_suffix('m'))
                    .and_then(|n| n.parse().ok())
                    .ok_or(())?;
                (1..=MAX_RECENT_MINUTES)
                    .contains(&m)
                    .then_some(Self::Recent(m))
                    .ok_or(())
            }
        }
    }
}

impl Serialize for Over {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Over {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom(format!("not a span: {s}")))
    }
}

/// How a metric is compared with the rule's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Op {
    /// Greater than.
    #[serde(rename = ">")]
    Gt,
    /// Greater than or equal.
    #[serde(rename = ">=")]
    Ge,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// Less than or equal.
    #[serde(rename = "<=")]
    Le,
    /// Equal.
    #[serde(rename = "==")]
    Eq,
    /// Not equal.
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    /// Every operator.
    pub const ALL: [Self; 6] = [Self::Gt, Self::Ge, Self::Lt, Self::Le, Self::Eq, Self::Ne];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Eq => "==",
            Self::Ne => "!=",
        }
    }

    /// `left <op> right`.
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Self::Gt => left > right,
            Self::Ge => left >= right,
            Self::Lt => left < right,
            Self::Le => left <= right,
            Self::Eq => left == right,
            Self::Ne => left != right,
        }
    }
}

/// Which budget stop a `budget_exhausted` condition waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// The lifetime budget.
    Total,
    /// Today's cap.
    Daily,
    /// Either.
    Either,
}

/// `metric` over `over` compared by `op` with `value`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// What is measured.
    pub metric: Metric,
    /// Over which span.
    pub over: Over,
    /// How it is compared.
    pub op: Op,
    /// With what (in the metric's unit).
    pub value: f64,
}

/// A rule's condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    /// Every member holds.
    All {
        /// The members.
        all: Vec<Condition>,
    },
    /// At least one member holds.
    Any {
        /// The members.
        any: Vec<Condition>,
    },
    /// The campaign's budget stopped it.
    Budget {
        /// Which stop.
        budget_exhausted: StopKind,
    },
    /// A metric compared with a value.
    Compare(Comparison),
}

/// The value of a comparison when it was evaluated, for messages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observed {
    /// The comparison.
    pub comparison: Comparison,
    /// The metric's value then; `None` when undefined (no impressions for
    /// a CTR, no budget for a percentage, a span not known yet).
    pub value: Option<f64>,
}

impl Condition {
    /// Reads a condition from `v`, adding every problem found (with paths
    /// under `path`) to `problems`.
    pub fn parse(v: &Value, path: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        let before = problems.len();
        let c = read(v, path, 1, problems);
        if problems.len() == before {
            let n = c.as_ref().map_or(0, Self::terms);
            if n > MAX_TERMS {
                problems.push(Problem::new(
                    path,
                    format!("has {n} comparisons; at most {MAX_TERMS}"),
                ));
                return None;
            }
        }
        c.filter(|_| problems.len() == before)
    }

    /// How many comparisons (and budget terms) the condition holds.
    pub fn terms(&self) -> usize {
        match self {
            Self::All { all: v } | Self::Any { any: v } => v.iter().map(Self::terms).sum(),
            Self::Budget { .. } | Self::Compare(_) => 1,
        }
    }

    /// The trailing spans (minutes) the condition reads, so a sample can
    /// be prepared with exactly those.
    pub fn recent_spans(&self, into: &mut Vec<u16>) {
        match self {
            Self::All { all: v } | Self::Any { any: v } => {
                v.iter().for_each(|c| c.recent_spans(into));
            }
            Self::Compare(Comparison {
                over: Over::Recent(m),
                ..
            }) => into.push(*m),
            Self::Budget { .. } | Self::Compare(_) => {}
        }
    }

    /// Whether the condition holds for `sample`; every comparison's value
    /// is pushed to `seen` (for the message). An undefined value makes its
    /// comparison false, whatever the operator.
    pub fn holds(&self, sample: &Sample, seen: &mut Vec<Observed>) -> bool {
        match self {
            // Every member is evaluated (no short cut) so a message can
            // show all values.
            Self::All { all } => all
                .iter()
                .map(|c| c.holds(sample, seen))
                .fold(true, |a, b| a & b),
            Self::Any { any } => any
                .iter()
                .map(|c| c.holds(sample, seen))
                .fold(false, |a, b| a | b),
            Self::Budget { budget_exhausted } => match (sample.budget_stop(), budget_exhausted) {
                (None, _) => false,
                (Some(_), StopKind::Either) => true,
                (Some(s), StopKind::Total) => s == BudgetStop::Total,
                (Some(s), StopKind::Daily) => s == BudgetStop::Daily,
            },
            Self::Compare(c) => {
                let value = sample.metric(c.metric, c.over);
                seen.push(Observed {
                    comparison: *c,
                    value,
                });
                value.is_some_and(|v| c.op.holds(v, c.value))
            }
        }
    }
}

fn read(v: &Value, path: &str, depth: usize, problems: &mut Vec<Problem>) -> Option<Condition> {
    let Some(obj) = v.as_object() else {
        problems.push(Problem::new(
            path,
            "must be an object: a comparison, {\"all\": [...]}, {\"any\": [...]} or {\"budget_exhausted\": ...}",
        ));
        return None;
    };
    for group in ["all", "any"] {
        if let Some(members) = obj.get(group) {
            return read_group(obj, group, members, path, depth, problems);
        }
    }
    if let Some(kind) = obj.get("budget_exhausted") {
        only(obj, &["budget_exhausted"], path, problems);
        let kind = match kind.as_str() {
            Some("total") => Some(StopKind::Total),
            Some("daily") => Some(StopKind::Daily),
            Some("either") => Some(StopKind::Either),
            _ => {
                problems.push(Problem::new(
                    format!("{path}.budget_exhausted"),
                    "must be one of total, daily, either",
                ));
                None
            }
        };
        return kind.map(|budget_exhausted| Condition::Budget { budget_exhausted });
    }
    read_comparison(obj, path, problems).map(Condition::Compare)
}

fn read_group(
    obj: &serde_json::Map<String, Value>,
    group: &str,
    members: &Value,
    path: &str,
    depth: usize,
    problems: &mut Vec<Problem>,
) -> Option<Condition> {
    only(obj, &[group], path, problems);
    let here = format!("{path}.{group}");
    if depth > MAX_DEPTH {
        problems.push(Problem::new(
            here,
            format!("groups nest at most {MAX_DEPTH} deep"),
        ));
        return None;
    }
    let Some(list) = members.as_array().filter(|l| !l.is_empty()) else {
        problems.push(Problem::new(
            here,
            "must be a non-empty array of conditions",
        ));
        return None;
    };
    let read: Vec<_> = list
        .iter()
        .enumerate()
        .map(|(i, m)| read(m, &format!("{here}[{i}]"), depth + 1, problems))
        .collect();
    let read: Option<Vec<_>> = read.into_iter().collect();
    read.map(|v| {
        if group == "all" {
            Condition::All { all: v }
        } else {
            Condition::Any { any: v }
        }
    })
}

fn read_comparison(
    obj: &serde_json::Map<String, Value>,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<Comparison> {
    only(obj, &["metric", "over", "op", "value"], path, problems);
    let field = |name: &str| format!("{path}.{name}");
    let metric = match obj.get("metric").and_then(Value::as_str) {
        Some(m) => Metric::ALL.into_iter().find(|x| x.as_str() == m),
        None => None,
    };
    if metric.is_none() {
        let names: Vec<_> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        problems.push(Problem::new(
            field("metric"),
            format!("must be one of {}", names.join(", ")),
        ));
    }
    let over = obj
        .get("over")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Over>().ok());
    if over.is_none() {
        problems.push(Problem::new(
            field("over"),
            format!(
                "must be today, lifetime or last_<minutes>m with 1 to {MAX_RECENT_MINUTES} minutes"
            ),
        ));
    }
    let op = match obj.get("op").and_then(Value::as_str) {
        Some(o) => Op::ALL.into_iter().find(|x| x.as_str() == o),
        None => None,
    };
    if op.is_none() {
        problems.push(Problem::new(
            field("op"),
            "must be one of >, >=, <, <=, ==, !=",
        ));
    }
    let value = obj
        .get("value")
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite());
    match value {
        None => problems.push(Problem::new(field("value"), "must be a number")),
        Some(v) if v < 0.0 => {
            problems.push(Problem::new(field("value"), "must not be negative"));
        }
        Some(_) => {}
    }
    let (metric, over, op, value) = (metric?, over?, op?, value?);
    if metric == Metric::BudgetUsedPct && matches!(over, Over::Recent(_)) {
        problems.push(Problem::new(
            field("over"),
            "budget_used_pct is measured over today (against the daily cap) or lifetime (against the total)",
        ));
        return None;
    }
    if counted(metric) && value.fract() != 0.0 {
        problems.push(Problem::new(
            field("value"),
            format!("{} is a whole number", metric.as_str()),
        ));
        return None;
    }
    Some(Comparison {
        metric,
        over,
        op,
        value,
    })
}

/// Metrics that are whole numbers (counts and micros sums).
fn counted(m: Metric) -> bool {
    matches!(
        m,
        Metric::Spend | Metric::Impressions | Metric::Clicks | Metric::Conversions
    )
}

/// Adds a problem for every key of `obj` not in `allowed`.
fn only(
    obj: &serde_json::Map<String, Value>,
    allowed: &[&str],
    path: &str,
    problems: &mut Vec<Problem>,
) {
    for k in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        problems.push(Problem::new(format!("{path}.{k}"), "is not a field here"));
    }
}

#[cfg(test)]
mod tests;
