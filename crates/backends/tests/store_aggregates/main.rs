//! Conformance of the stream worker's and the reports' store calls: one
//! set of assertions, run on Postgres (`postgres::…`, a private schema on
//! the local server) and on SQLite (`sqlite::…`, a fresh data folder).
//! Claims fence earlier owners, a commit applies deltas and the offset
//! together, unique users merge as sketches, ranking sums equal the events
//! over every range of days, reports cut local hours and days in any zone,
//! and no tenant ever sees another's rows.
//!
//! Each module is one topic; the store is built in `common` (shared with
//! the other store suites) and the events and expected rows in `support`.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod commits;
mod ranking;
mod reach;
mod reads;
mod reports;
