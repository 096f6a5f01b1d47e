//! The condition reader's and evaluator's tests.

use serde_json::json;

use super::*;

fn parse(v: Value) -> Result<Condition, Vec<Problem>> {
    let mut p = Vec::new();
    Condition::parse(&v, "condition", &mut p).ok_or(p)
}

fn fields(v: Value) -> Vec<String> {
    parse(v)
        .expect_err("invalid")
        .into_iter()
        .map(|p| p.field)
        .collect()
}

#[test]
fn reads_groups_comparisons_and_budget_terms() {
    let c = parse(json!({"any": [
        {"metric": "ctr", "over": "today", "op": "<", "value": 0.5},
        {"all": [{"metric": "spend", "over": "last_15m", "op": ">=", "value": 5_000_000},
                 {"budget_exhausted": "either"}]}
    ]}))
    .expect("valid");
    assert_eq!(c.terms(), 3);
    let mut spans = Vec::new();
    c.recent_spans(&mut spans);
    assert_eq!(spans, [15]);
    // What is written is what is read back.
    let again = parse(serde_json::to_value(&c).expect("json")).expect("valid");
    assert_eq!(again, c);
    assert_eq!(
        serde_json::to_value(&c).expect("json")["any"][1]["all"][0],
        json!({"metric": "spend", "over": "last_15m", "op": ">=", "value": 5_000_000.0})
    );
}

#[test]
fn every_problem_is_reported_with_its_path() {
    assert_eq!(
        fields(json!({"any": [
            {"metric": "ctrr", "over": "yesterday", "op": "~", "value": "x"},
            {"all": []},
            {"budget_exhausted": "weekly"},
            {"metric": "clicks", "over": "last_61m", "op": ">", "value": 1, "extra": 1},
            7
        ]})),
        [
            "condition.any[0].metric",
            "condition.any[0].over",
            "condition.any[0].op",
            "condition.any[0].value",
            "condition.any[1].all",
            "condition.any[2].budget_exhausted",
            "condition.any[3].extra",
            "condition.any[3].over",
            "condition.any[4]",
        ]
    );
}

#[test]
fn refuses_what_cannot_be_evaluated() {
    // A budget share of a trailing span has no budget to compare with.
    assert_eq!(
        fields(json!({"metric": "budget_used_pct", "over": "last_5m", "op": ">", "value": 80})),
        ["condition.over"]
    );
    // Counts are whole.
    assert_eq!(
        fields(json!({"metric": "clicks", "over": "today", "op": ">", "value": 1.5})),
        ["condition.value"]
    );
    assert_eq!(
        fields(json!({"metric": "ctr", "over": "today", "op": ">", "value": -1})),
        ["condition.value"]
    );
    // Too deep.
    let deep = json!({"all": [{"any": [{"all": [{"any": [
        {"metric": "clicks", "over": "today", "op": ">", "value": 1}]}]}]}]});
    assert_eq!(fields(deep), ["condition.all[0].any[0].all[0].any"]);
    // Too many terms.
    let many: Vec<_> = (0..=MAX_TERMS)
        .map(|_| json!({"metric": "clicks", "over": "today", "op": ">", "value": 1}))
        .collect();
    assert_eq!(fields(json!({"all": many})), ["condition"]);
}

#[test]
fn spans_read_and_print_alike() {
    for s in ["today", "lifetime", "last_1m", "last_60m"] {
        assert_eq!(s.parse::<Over>().expect("span").to_string(), s);
    }
    for s in ["last_0m", "last_61m", "last_m", "last_5", "5m", "Today"] {
        assert!(s.parse::<Over>().is_err(), "{s}");
    }
}
