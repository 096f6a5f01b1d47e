-- Budget stops, as the Postgres migration 20261203000004 defines them, in
-- SQLite's terms (ids 16-byte blobs, instants integer microseconds since
-- the Unix epoch; no row-level security: tenant-scoped statements name the
-- tenant).
--
-- One row per stopped campaign, written by the alerter's fenced commits
-- (set or replaced, deleted when lifted). The gateway reads every stop in
-- force (`until IS NULL OR until > now`) about every 500 ms: the table
-- stays small and the read is an index read. No reference to campaigns: a
-- commit must never fail on a campaign deleted meanwhile.

CREATE TABLE campaign_budget_stops (
    campaign_id BLOB    PRIMARY KEY CHECK (length(campaign_id) = 16),
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    stop        TEXT    NOT NULL CHECK (stop IN ('total', 'daily')),
    -- The result that crossed the limit.
    since       INTEGER NOT NULL,
    -- When it lifts by itself; NULL: never (the total).
    until       INTEGER,
    updated_at  INTEGER NOT NULL
) STRICT;
-- Stops in force now: the total ones (NULL) and the daily ones not yet
-- lifted (SQLite's OR optimisation reads the index once per term).
CREATE INDEX campaign_budget_stops_by_until ON campaign_budget_stops (until);
