//! Tenants, rules, channels and probe campaigns, written through the store
//! (the calls the API makes once it has validated a request; rules go
//! through the same `RuleBody::validate`). 10,000 rules over HTTP would
//! add the API to the run for no figure the benchmark reports.

use adpulse_benches::alert_rule_mix;
use adpulse_domain::alert::{ChannelKind, ChannelWrite, RuleBody};
use adpulse_domain::ports::prelude::*;
use adpulse_domain::ports::{AlertStore, CampaignStore};
use adpulse_domain::store::Updated;
use adpulse_domain::{CampaignId, TenantId};
use adpulse_postgres::Database;
use base64::Engine as _;
use serde_json::json;

use crate::{Args, err};

/// A budget probe campaign's `budget.total`, micros; its warm-up impression
/// costs a tenth of it, the crossing one the rest.
pub const BUDGET: i64 = 10_000;

/// Tenants written at once.
const WRITERS: usize = 8;

/// A tenant as the load uses it.
#[derive(Clone)]
pub struct TenantSeed {
    pub id: TenantId,
    /// Its ingest key (the bearer secret).
    pub key: String,
    /// The campaign the background load goes to.
    pub background: CampaignId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Gets one click, which makes the "first click" rule fire.
    Click,
    /// Has a budget; one impression reaches it.
    Budget,
}

/// A campaign of its own for one probe.
#[derive(Clone)]
pub struct ProbeSeed {
    pub kind: Kind,
    /// Index into the tenants.
    pub tenant: usize,
    pub campaign: CampaignId,
}

/// One tenant: key, background campaign, webhook channel, rules.
async fn seed_tenant(
    db: &Database,
    i: usize,
    receiver: &str,
    rules: usize,
) -> Result<TenantSeed, String> {
    let id = db
        .create_tenant(&format!("bench tenant {i}"))
        .await
        .map_err(err)?;
    let background = db
        .create_campaign(id, &format!("background {i}"), None)
        .await
        .map_err(err)?;
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(err)?;
    let key = db
        .create_ingest_key(id, "bench", random)
        .await
        .map_err(err)?
        .secret;
    getrandom::fill(&mut random).map_err(err)?;
    let secret = base64::engine::general_purpose::STANDARD.encode(random);
    let channel = ChannelWrite {
        name: "bench hook".into(),
        kind: ChannelKind::Webhook,
        target: format!("{receiver}/t/{i}"),
        secret: Some(format!("whsec_{secret}")),
    };
    let channel = db.insert_channel(id, &channel).await.map_err(err)?;
    for mut body in alert_rule_mix(rules) {
        body["channel_ids"] = json!([channel.id]);
        let spec = serde_json::from_value::<RuleBody>(body)
            .map_err(err)?
            .validate()
            .map_err(|p| format!("{p:?}"))?;
        db.insert_rule(id, &spec).await.map_err(err)?;
    }
    Ok(TenantSeed {
        id,
        key,
        background,
    })
}

/// Every tenant, [`WRITERS`] at a time, in index order.
async fn tenants(db: &Database, args: &Args, receiver: &str) -> Result<Vec<TenantSeed>, String> {
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (db, receiver) = (db.clone(), receiver.to_owned());
        let (n, rules) = (args.tenants, args.rules);
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for i in (w..n).step_by(WRITERS) {
                made.push((i, seed_tenant(&db, i, &receiver, rules).await?));
            }
            Ok::<_, String>(made)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(err)??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, s)| s).collect())
}

/// Sets `campaign`'s lifetime budget to [`BUDGET`].
async fn set_budget(db: &Database, tenant: TenantId, campaign: CampaignId) -> Result<(), String> {
    let rec = CampaignStore::campaign(db, tenant, campaign)
        .await
        .map_err(err)?
        .ok_or("a probe campaign vanished")?;
    let mut fields = rec.fields.clone();
    fields.budget_total_micros = Some(BUDGET);
    fields.budget_currency = Some("EUR".into());
    match db
        .update_campaign(tenant, campaign, rec.version, &fields)
        .await
        .map_err(err)?
    {
        Updated::Done(_) => Ok(()),
        _ => Err("setting a probe's budget failed".into()),
    }
}

/// The tenants, and the probe campaigns (click probes first), spread over
/// them round robin.
pub async fn seed(
    db: &Database,
    args: &Args,
    receiver: &str,
) -> Result<(Vec<TenantSeed>, Vec<ProbeSeed>), String> {
    let tenants = tenants(db, args, receiver).await?;
    let mut probes = Vec::new();
    for j in 0..args.probes + args.budget_probes {
        let tenant = j % args.tenants;
        let kind = if j < args.probes {
            Kind::Click
        } else {
            Kind::Budget
        };
        let owner = tenants[tenant].id;
        let campaign = db
            .create_campaign(owner, &format!("{kind:?} probe {j}"), None)
            .await
            .map_err(err)?;
        if kind == Kind::Budget {
            set_budget(db, owner, campaign).await?;
        }
        probes.push(ProbeSeed {
            kind,
            tenant,
            campaign,
        });
    }
    Ok((tenants, probes))
}
