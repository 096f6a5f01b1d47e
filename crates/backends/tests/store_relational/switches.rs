//! Kill switches: set (one per slot, a later one replacing), listed,
//! cleared, and every change in the audit trail, newest first, paged;
//! through the API's connection (tenant-scoped on Postgres, where the
//! operators' routes run) as through the system one.

use adpulse_domain::switch::{CappingMode, Sink, Switch, SwitchAction};

use crate::support::*;

conformance!("switches", None;
    switches_are_set_replaced_in_their_slot_and_cleared,
    every_change_is_audited_newest_first_in_pages,
);

async fn switches_are_set_replaced_in_their_slot_and_cleared(env: &Env) {
    let tenant = TenantId::from_uuid(Uuid::now_v7());
    assert_eq!(env.store.switches().await.expect("none yet"), []);
    let paused = Switch::PauseIngest { tenant };
    let r = env
        .api
        .set_switch(&paused, "ops (api)", "runaway sender")
        .await
        .expect("set");
    assert_eq!(
        (&r.switch, r.actor.as_str(), r.reason.as_str()),
        (&paused, "ops (api)", "runaway sender")
    );
    for (mode, actor) in [(CappingMode::FailOpen, "a"), (CappingMode::FailClosed, "b")] {
        env.store
            .set_switch(&Switch::Capping { mode }, actor, "redis trouble")
            .await
            .expect("set, then replaced");
    }
    env.store
        .set_switch(&Switch::PauseSink { sink: Sink::Live }, "c", "redis down")
        .await
        .expect("set");
    let listed: Vec<(String, Switch, String)> = env
        .api
        .switches()
        .await
        .expect("listed")
        .into_iter()
        .map(|r| (r.switch.key(), r.switch, r.actor))
        .collect();
    assert_eq!(
        listed,
        [
            (
                "capping".to_owned(),
                Switch::Capping {
                    mode: CappingMode::FailClosed
                },
                "b".to_owned()
            ),
            (paused.key(), paused.clone(), "ops (api)".to_owned()),
            (
                "pause_sink:live".to_owned(),
                Switch::PauseSink { sink: Sink::Live },
                "c".to_owned()
            ),
        ],
        "one per slot, by key"
    );

    let cleared = env
        .store
        .clear_switch("capping", "d", "redis fine")
        .await
        .expect("cleared")
        .expect("was in force");
    assert_eq!(
        cleared.switch,
        Switch::Capping {
            mode: CappingMode::FailClosed
        }
    );
    assert_eq!(
        env.store
            .clear_switch("capping", "d", "again")
            .await
            .expect("read"),
        None,
        "nothing left to clear"
    );
    assert_eq!(env.store.switches().await.expect("listed").len(), 2);
}

async fn every_change_is_audited_newest_first_in_pages(env: &Env) {
    let s = Switch::ReadOnlyApi;
    env.api.set_switch(&s, "a", "one").await.expect("set");
    env.api.set_switch(&s, "b", "two").await.expect("set again");
    env.api
        .clear_switch(&s.key(), "c", "three")
        .await
        .expect("clear");
    // A clear of nothing writes no line.
    env.api
        .clear_switch(&s.key(), "d", "four")
        .await
        .expect("clear");

    let all = env.api.switch_audit(None, 10).await.expect("audit");
    let lines: Vec<(SwitchAction, &str, &str)> = all
        .iter()
        .map(|a| (a.action, a.actor.as_str(), a.reason.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (SwitchAction::Cleared, "c", "three"),
            (SwitchAction::Set, "b", "two"),
            (SwitchAction::Set, "a", "one"),
        ]
    );
    assert!(
        all.iter()
            .all(|a| a.switch == s && a.key == "read_only_api")
    );
    assert!(
        all.windows(2)
            .all(|w| w[0].seq > w[1].seq && w[0].at >= w[1].at)
    );

    let first = env.store.switch_audit(None, 2).await.expect("page");
    let rest = env
        .store
        .switch_audit(Some(first[1].seq), 2)
        .await
        .expect("next page");
    assert_eq!(
        first.iter().chain(&rest).map(|a| a.seq).collect::<Vec<_>>(),
        all.iter().map(|a| a.seq).collect::<Vec<_>>()
    );
}
