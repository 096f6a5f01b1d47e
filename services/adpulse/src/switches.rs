//! The kill switches as this process follows them: one
//! [`Switchboard`] per process, read from the store at start and every
//! `ops.switch_poll_ms` after, handed to every service built here (the
//! gateway's ingestion and capping, the worker's live sink, the API's
//! writes). A failed read keeps the switches last read in force.

use std::sync::Arc;
use std::time::Duration;

use adpulse_domain::ports::Switches;
use adpulse_domain::switch::{Board, Switchboard};

/// A board with the switches in force now (none if the store does not
/// answer yet: the poll catches up), kept current until the process ends.
pub async fn follow(store: Arc<dyn Switches>, every: Duration) -> Switchboard {
    metrics::describe_gauge!(
        "adpulse_kill_switches_in_force",
        "Kill switches in force, as this process last read them."
    );
    let board = Switchboard::default();
    match store.switches().await {
        Ok(records) => announce(&board, Board::of(records)),
        Err(e) => {
            tracing::warn!(error = %e, "reading kill switches failed; none in force until a read succeeds");
        }
    }
    tokio::spawn(poll(store, board.clone(), every));
    board
}

async fn poll(store: Arc<dyn Switches>, board: Switchboard, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        if !board.is_shared() {
            return; // the services are gone (shutting down)
        }
        match store.switches().await {
            Ok(records) => {
                failing = false;
                announce(&board, Board::of(records));
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "reading kill switches failed; the last ones read stay in force");
            }
            Err(_) => {}
        }
    }
}

/// Installs `next` if it differs, logging what changed.
fn announce(board: &Switchboard, next: Board) {
    let now = board.now();
    if *now == next {
        return;
    }
    for r in next.in_force() {
        if !now.in_force().any(|o| o == r) {
            tracing::warn!(key = %r.switch.key(), actor = %r.actor, reason = %r.reason, "kill switch in force");
        }
    }
    for r in now.in_force() {
        if !next.in_force().any(|n| n.switch.key() == r.switch.key()) {
            tracing::warn!(key = %r.switch.key(), "kill switch cleared");
        }
    }
    metrics::gauge!("adpulse_kill_switches_in_force").set(next.in_force().count() as f64);
    board.set(next);
}
