//! From untrusted bytes to an [`Event`], or to every reason it is not one.
//!
//! Two steps: serde reads the JSON into a lenient wire shape (every field
//! optional and borrowed, so a well-formed event costs few allocations), then
//! [`validate`] checks each value and collects all problems at once.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ErrorCode, FieldError, RejectReason};
use crate::event::{Channel, Event, EventType, Micros, UserIds};
use crate::ids::{AdId, CampaignId, EventId};
use crate::limits::Limits;

pub use cap::{CapCall, CapQuery, parse_cap_query};

// Frequency-capping requests share the wire user and the problem list.
mod cap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEvent<'a> {
    #[serde(borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    campaign_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ad_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    occurred_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<WireUser<'a>>,
    cost_micros: Option<i64>,
    revenue_micros: Option<i64>,
    #[serde(borrow)]
    attributes: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireUser<'a> {
    #[serde(borrow)]
    device_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cookie_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    login_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    email_sha256: Option<Cow<'a, str>>,
}

/// Parses and validates one event.
///
/// `now` is the receiver's clock, against which `occurred_at` is checked
/// (too far in the future, or older than the retention horizon).
pub fn parse_event(
    bytes: &[u8],
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Event, RejectReason> {
    if bytes.len() > limits.max_event_bytes {
        return Err(RejectReason::one(
            "",
            ErrorCode::TooLarge,
            format!(
                "event is {} bytes, the limit is {}",
                bytes.len(),
                limits.max_event_bytes
            ),
        ));
    }
    object(bytes, "an event is a JSON object")?;
    // The path-tracking deserializer costs about a third of a parse, so it
    // runs only to explain a failure.
    let wire: WireEvent<'_> = match serde_json::from_slice(bytes) {
        Ok(w) => w,
        Err(plain) => return Err(explain::<WireEvent<'_>>(bytes, plain)),
    };
    validate(wire, limits, now)
}

/// Refuses anything but a JSON object (serde would read a struct from an
/// array too).
fn object(bytes: &[u8], what: &str) -> Result<(), RejectReason> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(());
    }
    Err(
        match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => RejectReason::one("", ErrorCode::NotAnObject, what),
            Err(e) => RejectReason::one("", ErrorCode::InvalidJson, format!("invalid JSON: {e}")),
        },
    )
}

/// Re-reads a body that failed to deserialize, tracking the path, to say which
/// field is wrong.
fn explain<'de, W: Deserialize<'de>>(bytes: &'de [u8], plain: serde_json::Error) -> RejectReason {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, W>(&mut de) {
        Err(e) => structural(e),
        // Only trailing data after a complete object fails the plain read
        // but not the streaming one.
        Ok(_) => RejectReason::one(
            "",
            ErrorCode::InvalidJson,
            format!(
                "trailing data after the object: {}",
                strip_position(&plain.to_string())
            ),
        ),
    }
}

/// Maps a serde failure to the field it concerns and a stable code.
fn structural(err: serde_path_to_error::Error<serde_json::Error>) -> RejectReason {
    let path = err.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let inner = err.into_inner();
    let msg = strip_position(&inner.to_string());
    let code = match inner.classify() {
        serde_json::error::Category::Data if msg.starts_with("unknown field") => {
            return RejectReason::one(path, ErrorCode::UnknownField, msg);
        }
        serde_json::error::Category::Data if msg.starts_with("duplicate field") => {
            ErrorCode::InvalidJson
        }
        serde_json::error::Category::Data => {
            if path.ends_with("_micros") && msg.starts_with("invalid value: integer") {
                ErrorCode::AmountTooLarge
            } else {
                ErrorCode::InvalidType
            }
        }
        // Syntax errors keep serde's "at line L column C": the path cannot
        // say where a stray character is.
        _ => {
            return RejectReason::one(
                path,
                ErrorCode::InvalidJson,
                format!("invalid JSON: {inner}"),
            );
        }
    };
    RejectReason::one(path, code, msg)
}

/// serde_json appends " at line L column C"; the path already says where.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// What is wrong with a short printable string, if anything: it must not be
/// empty, must fit in `max` bytes and must hold no control characters.
fn text_problem(s: &str, max: usize) -> Option<(ErrorCode, String)> {
    if s.is_empty() {
        Some((ErrorCode::Empty, "must not be empty".to_owned()))
    } else if s.len() > max {
        Some((
            ErrorCode::TooLong,
            format!("is {} bytes, the limit is {max}", s.len()),
        ))
    } else if s.chars().any(char::is_control) {
        Some((
            ErrorCode::InvalidCharacter,
            "must not contain control characters".to_owned(),
        ))
    } else {
        None
    }
}

/// Accumulates field errors while values are checked.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn push(&mut self, field: &str, code: ErrorCode, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    fn required<'v, 'a>(
        &mut self,
        field: &str,
        value: &'v Option<Cow<'a, str>>,
    ) -> Option<&'v str> {
        let v = value.as_deref();
        if v.is_none() {
            self.push(
                field,
                ErrorCode::MissingField,
                format!("{field} is required"),
            );
        }
        v
    }

    fn uuid(&mut self, field: &str, value: &Option<Cow<'_, str>>) -> Option<Uuid> {
        let s = self.required(field, value)?;
        match Uuid::try_parse(s) {
            Ok(id) if id.is_nil() => {
                self.push(field, ErrorCode::NilUuid, "the nil UUID is not a valid id");
                None
            }
            Ok(id) => Some(id),
            Err(_) => {
                self.push(
                    field,
                    ErrorCode::InvalidUuid,
                    format!("{field} must be a UUID"),
                );
                None
            }
        }
    }

    /// A short printable string (see [`text_problem`]), owned.
    fn text(&mut self, field: &str, s: &str, max: usize) -> Option<String> {
        match text_problem(s, max) {
            None => Some(s.to_owned()),
            Some((code, why)) => {
                self.push(field, code, format!("{field} {why}"));
                None
            }
        }
    }

    fn micros(&mut self, field: &str, value: Option<i64>) -> Option<Micros> {
        let v = value.unwrap_or(0);
        if v < 0 {
            self.push(
                field,
                ErrorCode::NegativeAmount,
                format!("{field} must not be negative"),
            );
            return None;
        }
        let m = Micros::new(v);
        if m.is_none() {
            self.push(
                field,
                ErrorCode::AmountTooLarge,
                format!("{field} must be at most {}", Micros::MAX.get()),
            );
        }
        m
    }
}

fn validate(w: WireEvent<'_>, limits: &Limits, now: DateTime<Utc>) -> Result<Event, RejectReason> {
    let mut p = Problems::default();

    let event_id = p.uuid("event_id", &w.event_id).map(EventId::from_uuid);
    let event_type = p.required("type", &w.event_type).and_then(|s| {
        let t = EventType::from_wire(s);
        if t.is_none() {
            p.push(
                "type",
                ErrorCode::UnknownEventType,
                format!("type must be impression, click or conversion, not {s:?}"),
            );
        }
        t
    });
    let campaign_id = p
        .uuid("campaign_id", &w.campaign_id)
        .map(CampaignId::from_uuid);
    let ad_id = p
        .required("ad_id", &w.ad_id)
        .and_then(|s| p.text("ad_id", s, AdId::MAX_LEN))
        .map(AdId::new_unchecked);
    let channel = p.required("channel", &w.channel).and_then(|s| {
        let c = Channel::from_wire(s);
        if c.is_none() {
            p.push(
                "channel",
                ErrorCode::UnknownChannel,
                format!("channel must be display, social, search, video or native, not {s:?}"),
            );
        }
        c
    });
    let occurred_at = p
        .required("occurred_at", &w.occurred_at)
        .and_then(|s| occurred_at(&mut p, s, limits, now));
    let user = w.user.map(|u| user(&mut p, u));
    let cost_micros = p.micros("cost_micros", w.cost_micros);
    let revenue_micros = p.micros("revenue_micros", w.revenue_micros);
    let attributes = attributes(&mut p, w.attributes.unwrap_or_default());

    match (
        event_id,
        event_type,
        campaign_id,
        ad_id,
        channel,
        occurred_at,
        cost_micros,
        revenue_micros,
    ) {
        (
            Some(event_id),
            Some(event_type),
            Some(campaign_id),
            Some(ad_id),
            Some(channel),
            Some(occurred_at),
            Some(cost_micros),
            Some(revenue_micros),
        ) if p.0.is_empty() => Ok(Event {
            event_id,
            event_type,
            campaign_id,
            ad_id,
            channel,
            occurred_at,
            user: user.flatten(),
            cost_micros,
            revenue_micros,
            attributes,
        }),
        _ => Err(RejectReason { errors: p.0 }),
    }
}

fn occurred_at(
    p: &mut Problems,
    s: &str,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    const F: &str = "occurred_at";
    // A leap second is folded into the millisecond before it (crate::time).
    let Some(t) = crate::time::parse_instant(s) else {
        p.push(
            F,
            ErrorCode::InvalidTimestamp,
            "occurred_at must be an RFC 3339 timestamp with a zone, like 2026-11-29T10:30:00.123Z",
        );
        return None;
    };
    let skew = chrono::Duration::from_std(limits.max_future_skew).unwrap_or(chrono::Duration::MAX);
    let retention = chrono::Duration::from_std(limits.retention).unwrap_or(chrono::Duration::MAX);
    if now
        .checked_add_signed(skew)
        .is_some_and(|latest| t > latest)
    {
        p.push(
            F,
            ErrorCode::TooFarInFuture,
            format!(
                "occurred_at is more than {}s ahead of the receiver's clock",
                limits.max_future_skew.as_secs()
            ),
        );
        None
    } else if now
        .checked_sub_signed(retention)
        .is_some_and(|oldest| t < oldest)
    {
        p.push(
            F,
            ErrorCode::TooOld,
            format!(
                "occurred_at is older than the retention horizon of {} days",
                limits.retention.as_secs() / 86_400
            ),
        );
        None
    } else {
        Some(t)
    }
}

/// `None` inside means the block had problems (already recorded).
fn user(p: &mut Problems, u: WireUser<'_>) -> Option<UserIds> {
    let before = p.0.len();
    let mut id = |field: &str, v: Option<Cow<'_, str>>| {
        v.and_then(|s| p.text(field, &s, UserIds::MAX_ID_LEN))
    };
    let mut ids = UserIds {
        device_id: id("user.device_id", u.device_id),
        cookie_id: id("user.cookie_id", u.cookie_id),
        login_id: id("user.login_id", u.login_id),
        email_sha256: None,
    };
    if let Some(h) = u.email_sha256 {
        if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
            ids.email_sha256 = Some(h.to_ascii_lowercase());
        } else {
            p.push(
                "user.email_sha256",
                ErrorCode::InvalidSha256,
                "user.email_sha256 must be 64 hexadecimal digits",
            );
        }
    }
    if p.0.len() > before {
        return None;
    }
    if ids == UserIds::default() {
        p.push(
            "user",
            ErrorCode::Empty,
            "user must carry at least one of device_id, cookie_id, login_id, email_sha256; omit it when unknown",
        );
        return None;
    }
    Some(ids)
}

fn attributes(
    p: &mut Problems,
    raw: BTreeMap<Cow<'_, str>, Cow<'_, str>>,
) -> BTreeMap<String, String> {
    if raw.len() > Event::MAX_ATTRIBUTES {
        p.push(
            "attributes",
            ErrorCode::TooManyAttributes,
            format!(
                "{} attributes, the limit is {}",
                raw.len(),
                Event::MAX_ATTRIBUTES
            ),
        );
        return BTreeMap::new();
    }
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        // The field name is built only for a problem: the happy path of the
        // hottest loop in ingestion allocates just the key and value.
        if let Some((code, why)) = text_problem(&k, Event::MAX_ATTRIBUTE_KEY_LEN) {
            p.push(
                &format!("attributes.{k}"),
                code,
                format!("attribute name {why}"),
            );
        } else if v.len() > Event::MAX_ATTRIBUTE_VALUE_LEN {
            p.push(
                &format!("attributes.{k}"),
                ErrorCode::TooLong,
                format!(
                    "value is {} bytes, the limit is {}",
                    v.len(),
                    Event::MAX_ATTRIBUTE_VALUE_LEN
                ),
            );
        } else {
            out.insert(k.into_owned(), v.into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests;
