//! A rule's message: a template its owner writes, rendered by a sandboxed
//! engine (MiniJinja: no file, network or environment access, nothing but
//! the values handed in) with a fuel limit, so a hostile template can
//! neither reach outside nor spin. Values are never concatenated into a
//! message by hand.
//!
//! What a template sees: `rule.{id,name}`, `campaign.{id,name,brand_id}`,
//! `state` (`firing` or `resolved`), `at` (RFC 3339), and `values`, one
//! entry per comparison: `{metric, over, op, threshold, value}` (`value`
//! is none when undefined).

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// Instructions one rendering may run.
const FUEL: u64 = 20_000;
/// Longest message, bytes; longer ones are cut.
pub const MAX_MESSAGE: usize = 4096;

/// What a template is rendered with.
#[derive(Clone, Debug, Serialize)]
pub struct MessageContext {
    /// The rule.
    pub rule: Named,
    /// The campaign.
    pub campaign: CampaignContext,
    /// `firing` or `resolved`.
    pub state: &'static str,
    /// When, RFC 3339.
    pub at: String,
    /// Every comparison's value.
    pub values: Vec<ValueContext>,
}

/// An id and a name.
#[derive(Clone, Debug, Serialize)]
pub struct Named {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// The campaign a message is about.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignContext {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Brand, if any.
    pub brand_id: Option<String>,
}

/// One comparison's value.
#[derive(Clone, Debug, Serialize)]
pub struct ValueContext {
    /// Metric name.
    pub metric: &'static str,
    /// Span.
    pub over: String,
    /// Operator.
    pub op: &'static str,
    /// The rule's value.
    pub threshold: f64,
    /// The metric's value (none: undefined).
    pub value: Option<f64>,
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    // A misspelt variable is an error when the rule is written, not an
    // empty hole in a notification.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Whether `template` compiles and renders on an example context; the
/// error is a sentence for the `message_template` field.
pub fn check(template: &str) -> Result<(), String> {
    render(template, &MessageContext::example()).map(|_| ())
}

/// `template` rendered with `ctx`, cut to [`MAX_MESSAGE`] bytes.
pub fn render(template: &str, ctx: &MessageContext) -> Result<String, String> {
    let env = env();
    let t = env
        .template_from_str(template)
        .map_err(|e| format!("is not a valid template: {e}"))?;
    // Postgres keeps no NUL in text: one in a value must not make the
    // commit that records the message fail for ever.
    let mut out = t
        .render(ctx)
        .map_err(|e| format!("cannot be rendered: {e}"))?
        .replace('\0', "");
    if out.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    Ok(out)
}

impl MessageContext {
    /// A context with every field set, to check templates against.
    pub fn example() -> Self {
        Self {
            rule: Named {
                id: "00000000-0000-0000-0000-000000000000".into(),
                name: "rule".into(),
            },
            campaign: CampaignContext {
                id: "00000000-0000-0000-0000-000000000000".into(),
                name: "campaign".into(),
                brand_id: Some("brand".into()),
            },
            state: "firing",
            at: "2026-01-01T00:00:00Z".into(),
            values: vec![ValueContext {
                metric: "ctr",
                over: "today".into(),
                op: "<",
                threshold: 0.5,
                value: Some(0.25),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::rule::DEFAULT_TEMPLATE;

    #[test]
    fn renders_the_default_message() {
        assert_eq!(
            render(DEFAULT_TEMPLATE, &MessageContext::example()).expect("renders"),
            "rule: firing for campaign campaign · ctr today = 0.25 (< 0.5)"
        );
        let mut ctx = MessageContext::example();
        ctx.values[0].value = Some(4.630_235_6);
        ctx.values.push(ValueContext {
            metric: "cpa",
            over: "today".into(),
            op: ">",
            threshold: 2.0,
            value: None,
        });
        assert_eq!(
            render(DEFAULT_TEMPLATE, &ctx).expect("renders"),
            "rule: firing for campaign campaign · ctr today = 4.63 (< 0.5) · cpa today = n/a (> 2.0)"
        );
    }

    #[test]
    fn refuses_broken_misspelt_and_endless_templates() {
        assert!(check("{{ rule.name ").is_err());
        assert!(check("{{ rule.nmae }}").is_err());
        assert!(
            check(
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
            )
            .is_err()
        );
        // Nothing outside the context: no includes, no environment.
        assert!(check("{% include '/etc/passwd' %}").is_err());
        assert!(check("{{ env }}").is_err());
    }

    #[test]
    fn nul_characters_are_dropped() {
        let mut ctx = MessageContext::example();
        ctx.campaign.name = "a\0b".into();
        assert_eq!(render("{{ campaign.name }}", &ctx).expect("renders"), "ab");
    }

    #[test]
    fn long_messages_are_cut_on_a_character() {
        let out = render(
            "{% for i in range(3000) %}é{% endfor %}",
            &MessageContext::example(),
        )
        .expect("renders");
        assert!(out.len() <= MAX_MESSAGE && out.chars().all(|c| c == 'é'));
    }
}
