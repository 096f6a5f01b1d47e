//! Who a campaign is shown to: countries, device types, audience segments,
//! dayparting, and the frequency cap that capping enforces.
//!
//! `Targeting::validate` returns every problem with its field path, so the
//! API can answer them all at once.

use serde::{Deserialize, Serialize};

/// ISO 3166-1 alpha-2 codes (all 249 assigned), sorted.
pub const COUNTRIES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Device types a campaign may target.
pub const DEVICE_TYPES: [&str; 4] = ["desktop", "mobile", "tablet", "ctv"];

/// Most audience segments one campaign may list.
pub const MAX_SEGMENTS: usize = 500;

/// A campaign's targeting. Empty lists mean "no restriction".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Targeting {
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// From [`DEVICE_TYPES`].
    #[serde(default)]
    pub device_types: Vec<String>,
    /// Audience segment ids.
    #[serde(default)]
    pub audience_segments: Vec<String>,
    /// When ads may show, in the campaign's time zone; none, any time.
    #[serde(default)]
    pub dayparting: Vec<Daypart>,
    /// How often one person may see the campaign (or each of its ads).
    #[serde(default)]
    pub frequency_cap: Option<FrequencyCap>,
}

/// Some days, between two times of day (`"08:00"` to `"18:30"`; `end`
/// after `start`; `"24:00"` allowed as an end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Daypart {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// From, inclusive.
    pub start: String,
    /// Until, exclusive.
    pub end: String,
}

/// At most `max` impressions per person per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    /// Impressions allowed in one window (1 ..= 1000).
    pub max: u32,
    /// The window's length.
    pub per: CapPeriod,
    /// The whole campaign, or each ad separately.
    #[serde(default)]
    pub scope: CapScope,
    /// Calendar windows in the campaign's time zone, or rolling ones.
    #[serde(default)]
    pub window: CapWindow,
}

/// The length of a capping window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CapPeriod {
    /// An hour.
    Hour,
    /// A day.
    Day,
    /// A week (calendar weeks start on Monday).
    Week,
}

/// What a cap counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CapScope {
    /// Impressions of any of the campaign's ads.
    #[default]
    Campaign,
    /// Impressions of each ad on its own.
    Ad,
}

/// How capping windows are laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CapWindow {
    /// Calendar hours, days or weeks in the campaign's time zone.
    #[default]
    Calendar,
    /// The last hour, day or week before each decision.
    Rolling,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes since midnight of `"HH:MM"` (`"24:00"` only if `end`).
fn minutes(t: &str, end: bool) -> Option<u32> {
    let (h, m) = t.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if end => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Most problems reported per list (the rest are implied).
const MAX_PROBLEMS: usize = 20;

fn check_list(
    problems: &mut Vec<(String, String)>,
    field: &str,
    items: &[String],
    valid: impl Fn(&str) -> bool,
    expected: &str,
) {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let mut reported = 0;
    for (i, item) in items.iter().enumerate() {
        if reported == MAX_PROBLEMS {
            break;
        }
        if !valid(item) {
            let shown: String = item.chars().take(40).collect();
            problems.push((
                format!("{field}[{i}]"),
                format!("{shown:?} is not {expected}"),
            ));
            reported += 1;
        } else if !seen.insert(item.as_str()) {
            problems.push((format!("{field}[{i}]"), "repeated".into()));
            reported += 1;
        }
    }
}

impl Targeting {
    /// Every problem, as (field path, message); empty when valid.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        // Bounds first: nothing longer is looked at item by item.
        for (field, len, max) in [
            ("countries", self.countries.len(), COUNTRIES.len()),
            ("device_types", self.device_types.len(), DEVICE_TYPES.len()),
            (
                "audience_segments",
                self.audience_segments.len(),
                MAX_SEGMENTS,
            ),
            ("dayparting", self.dayparting.len(), 100),
        ] {
            if len > max {
                problems.push((field.into(), format!("at most {max} items")));
            }
        }
        if !problems.is_empty() {
            return problems;
        }
        check_list(
            &mut problems,
            "countries",
            &self.countries,
            |c| COUNTRIES.binary_search(&c).is_ok(),
            "an ISO 3166-1 alpha-2 code (upper case, like DE)",
        );
        check_list(
            &mut problems,
            "device_types",
            &self.device_types,
            |d| DEVICE_TYPES.contains(&d),
            "one of desktop, mobile, tablet, ctv",
        );

        check_list(
            &mut problems,
            "audience_segments",
            &self.audience_segments,
            |s| {
                !s.is_empty()
                    && s.len() <= 100
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            },
            "a segment id (1 to 100 of A-Z a-z 0-9 - _ . :)",
        );
        for (i, part) in self.dayparting.iter().enumerate() {
            if part.days.is_empty() {
                problems.push((
                    format!("dayparting[{i}].days"),
                    "name at least one day".into(),
                ));
            }
            check_list(
                &mut problems,
                &format!("dayparting[{i}].days"),
                &part.days,
                |d| DAYS.contains(&d),
                "one of mon, tue, wed, thu, fri, sat, sun",
            );
            match (minutes(&part.start, false), minutes(&part.end, true)) {
                (None, _) => problems.push((
                    format!("dayparting[{i}].start"),
                    "must be HH:MM, 00:00 to 23:59".into(),
                )),
                (_, None) => problems.push((
                    format!("dayparting[{i}].end"),
                    "must be HH:MM, 00:01 to 24:00".into(),
                )),
                (Some(s), Some(e)) if e <= s => {
                    problems.push((format!("dayparting[{i}].end"), "must be after start".into()))
                }
                _ => {}
            }
        }
        if let Some(cap) = &self.frequency_cap
            && !(1..=1000).contains(&cap.max)
        {
            problems.push(("frequency_cap.max".into(), "must be 1 to 1000".into()));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_sorted_and_distinct() {
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn valid_targeting_has_no_problems() {
        let t: Targeting = serde_json::from_value(serde_json::json!({
            "countries": ["DE", "FR"],
            "device_types": ["mobile"],
            "audience_segments": ["sports-fans", "seg:42"],
            "dayparting": [{"days": ["mon", "fri"], "start": "08:00", "end": "24:00"}],
            "frequency_cap": {"max": 3, "per": "day"}
        }))
        .expect("shape");
        assert_eq!(t.validate(), Vec::<(String, String)>::new());
        let cap = t.frequency_cap.expect("cap");
        assert_eq!(
            (cap.scope, cap.window),
            (CapScope::Campaign, CapWindow::Calendar)
        );
    }

    #[test]
    fn every_problem_is_named() {
        let t = Targeting {
            countries: vec!["de".into(), "XX".into(), "FR".into(), "FR".into()],
            device_types: vec!["fridge".into()],
            audience_segments: vec![String::new()],
            dayparting: vec![
                Daypart {
                    days: vec![],
                    start: "9:00".into(),
                    end: "10:00".into(),
                },
                Daypart {
                    days: vec!["sat".into()],
                    start: "18:00".into(),
                    end: "08:00".into(),
                },
                Daypart {
                    days: vec!["sun".into()],
                    start: "24:00".into(),
                    end: "24:00".into(),
                },
            ],
            frequency_cap: Some(FrequencyCap {
                max: 0,
                per: CapPeriod::Week,
                scope: CapScope::Ad,
                window: CapWindow::Rolling,
            }),
        };
        let fields: Vec<String> = t.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "countries[0]",
                "countries[1]",
                "countries[3]",
                "device_types[0]",
                "audience_segments[0]",
                "dayparting[0].days",
                "dayparting[0].start",
                "dayparting[1].end",
                "dayparting[2].start",
                "frequency_cap.max"
            ]
        );
    }
}
