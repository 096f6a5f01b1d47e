//! The stream worker against hostile sequences of events the gateway
//! accepts: amounts at the per-event bound, bursts that drive a campaign's
//! lifetime sums past what can be stored, resends, and the same event id in
//! several campaigns of one partition.
//!
//! The property: every event is either counted exactly once (its
//! campaign's totals equal a model's) or kept on the rejected stream with
//! the reason, never both, never neither; and the partition keeps moving
//! (every record is applied). Checked against the real sinks (Postgres
//! aggregates with their checks and 64-bit columns, the CQL archive,
//! Redis), fed through the embedded event log.

mod common;

use adpulse_domain::ports::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use adpulse_domain::aggregate::{CAMPAIGN_MAX_MICROS, CampaignTotals};
use adpulse_domain::{CampaignId, Micros};
use adpulse_kafka::Consumer;
use common::worker::{Env, PARTITIONS, env_embedded};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};

/// Amounts a sender may put in an event, extremes first.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(Micros::MAX.get()),
        Just(Micros::MAX.get() - 1),
        0..10_000i64,
        0..=Micros::MAX.get(),
    ]
}

/// One step of a case.
#[derive(Clone, Debug)]
enum Step {
    /// A new event of campaign `campaign`.
    New {
        campaign: usize,
        kind: usize,
        cost: i64,
        revenue: i64,
    },
    /// A resend of the `nth` event sent so far (modulo their number).
    Resend { nth: usize },
    /// A new event of `campaign` carrying the id of the `nth` event sent
    /// so far (usually another campaign's).
    SameId {
        campaign: usize,
        nth: usize,
        cost: i64,
    },
    /// `n` events of `campaign` at the per-event bound of cost or revenue:
    /// what pushes a campaign to its lifetime bound within a case.
    Burst {
        campaign: usize,
        n: usize,
        revenue: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..3usize, 0..3usize, amount(), amount())
            .prop_map(|(campaign, kind, cost, revenue)| Step::New { campaign, kind, cost, revenue }),
        2 => any::<usize>().prop_map(|nth| Step::Resend { nth }),
        2 => (0..3usize, any::<usize>(), amount())
            .prop_map(|(campaign, nth, cost)| Step::SameId { campaign, nth, cost }),
        1 => (0..3usize, 300..1_200usize, any::<bool>())
            .prop_map(|(campaign, n, revenue)| Step::Burst { campaign, n, revenue }),
    ]
}

/// What the worker must make of a sequence, event by event, in order: a
/// resend of a (campaign, id) already seen is dropped; an event that would
/// take its campaign's lifetime cost or revenue past the bound is refused;
/// the rest count.
#[derive(Default)]
struct Model {
    seen: HashSet<(String, String)>,
    /// Per campaign: impressions, clicks, conversions, cost, revenue.
    totals: BTreeMap<String, [i64; 5]>,
    refused: BTreeSet<(String, String)>,
}

impl Model {
    fn apply(&mut self, e: &Value) {
        let campaign = e["campaign_id"].as_str().unwrap_or_default().to_owned();
        let id = e["event_id"].as_str().unwrap_or_default().to_owned();
        if !self.seen.insert((campaign.clone(), id.clone())) {
            return;
        }
        let t = self.totals.entry(campaign.clone()).or_default();
        let cost = e["cost_micros"].as_i64().unwrap_or_default();
        let revenue = e["revenue_micros"].as_i64().unwrap_or_default();
        if t[3] + cost > CAMPAIGN_MAX_MICROS || t[4] + revenue > CAMPAIGN_MAX_MICROS {
            self.refused.insert((campaign, id));
            return;
        }
        let slot = match e["type"].as_str() {
            Some("impression") => 0,
            Some("click") => 1,
            _ => 2,
        };
        t[slot] += 1;
        t[3] += cost;
        t[4] += revenue;
    }
}

/// A campaign's totals in the model's order.
fn counts(t: &CampaignTotals) -> [i64; 5] {
    [
        t.impressions,
        t.clicks,
        t.conversions,
        t.cost_micros,
        t.revenue_micros,
    ]
}

/// Three fresh campaigns on one partition, so their events share a batch,
/// a dedup set and a commit.
fn campaigns_on_one_partition() -> Vec<CampaignId> {
    let mut out: Vec<CampaignId> = Vec::new();
    let target = fastrand::i32(0..PARTITIONS);
    while out.len() < 3 {
        let id = uuid::Uuid::now_v7();
        if adpulse_domain::partition::partition_for(id.to_string().as_bytes(), PARTITIONS) == target
        {
            out.push(CampaignId::from_uuid(id));
        }
    }
    out
}

fn event(campaign: CampaignId, id: &str, kind: usize, cost: i64, revenue: i64) -> Value {
    let at = chrono::Utc::now() - chrono::Duration::seconds(fastrand::i64(0..2 * 86_400));
    let kind = ["impression", "click", "conversion"][kind % 3];
    json!({
        "event_id": id,
        "type": kind,
        "campaign_id": campaign.to_string(),
        "ad_id": "creative-1",
        "channel": "display",
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "user": { "device_id": format!("d-{}", fastrand::u32(0..50)) },
        "cost_micros": cost,
        "revenue_micros": revenue,
    })
}

/// The events a case's steps send, in order.
fn events_of(steps: &[Step], campaigns: &[CampaignId]) -> Vec<Value> {
    let mut sent: Vec<Value> = Vec::new();
    let new_id = || uuid::Uuid::now_v7().to_string();
    for s in steps {
        match s {
            Step::New {
                campaign,
                kind,
                cost,
                revenue,
            } => sent.push(event(
                campaigns[*campaign],
                &new_id(),
                *kind,
                *cost,
                *revenue,
            )),
            Step::Resend { nth } if !sent.is_empty() => {
                let again = sent[nth % sent.len()].clone();
                sent.push(again);
            }
            Step::SameId {
                campaign,
                nth,
                cost,
            } if !sent.is_empty() => {
                let id = sent[nth % sent.len()]["event_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                sent.push(event(campaigns[*campaign], &id, 0, *cost, 0));
            }
            Step::Burst {
                campaign,
                n,
                revenue,
            } => {
                for _ in 0..*n {
                    let (c, r) = if *revenue {
                        (0, Micros::MAX.get())
                    } else {
                        (Micros::MAX.get(), 0)
                    };
                    sent.push(event(campaigns[*campaign], &new_id(), 2, c, r));
                }
            }
            Step::Resend { .. } | Step::SameId { .. } => {}
        }
    }
    sent
}

/// State kept across the cases of one run.
struct Run {
    env: Env,
    records: i64,
    rejected: Consumer,
    /// Refused (campaign, event id) → code, as read from the rejected
    /// stream so far.
    refused: HashMap<(String, String), String>,
    /// Events the cases expected refused, over all cases (a run where none
    /// crossed the bound would prove little).
    expected_refusals: usize,
}

impl Run {
    async fn case(&mut self, steps: Vec<Step>) -> Result<(), TestCaseError> {
        let campaigns = campaigns_on_one_partition();
        let events = events_of(&steps, &campaigns);
        let mut model = Model::default();
        for e in &events {
            model.apply(e);
            self.env.send(e).await;
        }
        self.records += events.len() as i64;
        self.expected_refusals += model.refused.len();
        // The partition keeps moving: every record is applied.
        self.env
            .wait_applied(self.records, Duration::from_secs(120))
            .await;

        let totals = self
            .env
            .db
            .campaign_totals(&campaigns)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for c in &campaigns {
            let want = model
                .totals
                .get(&c.to_string())
                .copied()
                .unwrap_or_default();
            let got = totals
                .iter()
                .find(|t| t.campaign_id == *c)
                .map(counts)
                .unwrap_or_default();
            prop_assert_eq!(got, want, "totals of {}", c);
        }

        // Every refused event is on the rejected stream with its reason
        // (written before the offsets moved past it), and nothing else of
        // these campaigns is.
        let mine: BTreeSet<String> = campaigns.iter().map(ToString::to_string).collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let seen: BTreeSet<(String, String)> = self
                .refused
                .keys()
                .filter(|(c, _)| mine.contains(c))
                .cloned()
                .collect();
            if seen.len() >= model.refused.len() || std::time::Instant::now() > deadline {
                prop_assert_eq!(&seen, &model.refused);
                break;
            }
            self.read_rejected().await;
        }
        for key in &model.refused {
            prop_assert_eq!(
                self.refused.get(key).map(String::as_str),
                Some("campaign_total_exceeded")
            );
        }
        Ok(())
    }

    /// Reads what the rejected stream has now.
    async fn read_rejected(&mut self) {
        while let Ok(Some(r)) = self.rejected.recv(Duration::from_millis(500)).await {
            let Ok(row) = serde_json::from_slice::<Value>(r.payload.as_deref().unwrap_or_default())
            else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(row["payload"].as_str().unwrap_or(""))
            else {
                continue;
            };
            let key = (
                event["campaign_id"].as_str().unwrap_or_default().to_owned(),
                event["event_id"].as_str().unwrap_or_default().to_owned(),
            );
            // At least once: a retried flush may keep a row twice, with
            // the same reason.
            let code = row["code"].as_str().unwrap_or_default().to_owned();
            if let Some(before) = self.refused.insert(key.clone(), code.clone()) {
                assert_eq!(before, code, "{key:?} refused for two reasons");
            }
        }
    }
}

#[test]
fn every_accepted_event_is_counted_exactly_or_kept_as_refused() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let run = rt.block_on(async {
        let env = env_embedded().await;
        let rejected = Consumer::from_beginning(&env.cfg.kafka, &env.cfg.kafka.rejected_topic, 1)
            .expect("rejected-stream reader");
        Run {
            env,
            records: 0,
            rejected,
            refused: HashMap::new(),
            expected_refusals: 0,
        }
    });
    let worker = rt.block_on(run.env.start_worker());
    let run = std::cell::RefCell::new(run);
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 12,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let outcome = runner.run(&proptest::collection::vec(step(), 1..40), |steps| {
        rt.block_on(run.borrow_mut().case(steps))
    });
    rt.block_on(worker.stop());
    let run = run.into_inner();
    let refusals = run.expected_refusals;
    rt.block_on(run.env.cleanup());
    if let Err(e) = outcome {
        panic!("{e}");
    }
    assert!(
        refusals > 0,
        "no case drove a campaign past its bound: the strategy needs bigger bursts"
    );
}

/// A value the store refuses (here: a check the test adds to its own
/// schema, refusing every `native` aggregate row, as a real Postgres would
/// refuse any value it cannot keep) does not hold the partition: the
/// worker isolates the events that carry it, keeps each on the rejected
/// stream as `unstorable`, and counts every other event exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_the_store_refuses_are_isolated_and_the_rest_counts() {
    let env = env_embedded().await;
    sqlx::query(
        "ALTER TABLE campaign_aggregates ADD CONSTRAINT test_refuses_native CHECK (channel <> 'native')",
    )
    .execute(env.db.pool())
    .await
    .expect("a check of the test's own");
    let campaigns = campaigns_on_one_partition();
    let mut model = Model::default();
    let mut poison = BTreeSet::new();
    let mut records = 0;
    for i in 0..600 {
        let mut e = event(
            campaigns[i % 3],
            &uuid::Uuid::now_v7().to_string(),
            i % 3,
            100,
            0,
        );
        if i % 97 == 5 {
            e["channel"] = json!("native");
            poison.insert((
                e["campaign_id"].as_str().unwrap_or_default().to_owned(),
                e["event_id"].as_str().unwrap_or_default().to_owned(),
            ));
        } else {
            model.apply(&e);
        }
        env.send(&e).await;
        records += 1;
    }
    let worker = env.start_worker().await;
    env.wait_applied(records, Duration::from_secs(120)).await;
    worker.stop().await;

    let totals = env.db.campaign_totals(&campaigns).await.expect("totals");
    for c in &campaigns {
        let t = totals
            .iter()
            .find(|t| t.campaign_id == *c)
            .expect("counted");
        assert_eq!(counts(t), model.totals[&c.to_string()], "{c}");
    }
    let mut run = Run {
        rejected: Consumer::from_beginning(&env.cfg.kafka, &env.cfg.kafka.rejected_topic, 1)
            .expect("reader"),
        env,
        records,
        refused: HashMap::new(),
        expected_refusals: 0,
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        run.read_rejected().await;
        let kept: BTreeSet<(String, String)> = run
            .refused
            .iter()
            .filter(|(_, code)| code.as_str() == "unstorable")
            .map(|(k, _)| k.clone())
            .collect();
        if kept.len() >= poison.len() || std::time::Instant::now() > deadline {
            assert_eq!(kept, poison);
            break;
        }
    }
    run.env.cleanup().await;
}
