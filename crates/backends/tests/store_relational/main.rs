//! Conformance of the relational store's API side: one set of assertions,
//! run on Postgres (`…::postgres::…`) and on SQLite (`…::sqlite::…`)
//! through the store built in `common` (shared with the other store
//! suites), so embedded mode answers every call as production does.
//!
//! Covered: users and sessions (refresh rotation, reuse, deactivation),
//! campaigns (versions, conflicts, status, targeting, soft delete),
//! listings (filters, every sort both ways, offset and cursor pages,
//! totals), creatives, tenants and ingest keys (through the `Directory`
//! port too), alert channels and rules (secret rotation, channels in use,
//! versions, paging), the alerter's ledger (fenced commits of states,
//! history and deliveries; the outbox's leases, attempts and replays; the
//! delivery log), budget stops (set, lifted, fenced, in force; per tenant),
//! kill switches and their audit trail, and the split of a campaign's totals at a local midnight, tenant
//! isolation, and racing writers.
//!
//! On Postgres the API's calls go through a tenant-scoped connection (as
//! the API connects: row-level security on) and the admin and gateway calls
//! through a system one, in a private schema dropped at the end. SQLite has
//! one connection kind; both roles share it, in a fresh data folder.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod alert_ledger;
mod alert_outbox;
mod alerts;
mod budget_stops;
mod campaigns;
mod catalogue;
mod isolation;
mod listings;
mod switches;
mod users;
