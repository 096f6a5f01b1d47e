-- Budget stops: the campaigns a budget stops (`crates/domain/src/budget.rs`),
-- one row per campaign, as the alerter records them in its fenced commits
-- (`AlertCommit.stops`: set or replaced, or deleted when lifted). The
-- gateway reads every stop in force through `Directory::budget_stops`
-- about every 500 ms, so the table stays small (stopped campaigns only)
-- and "in force now" (`until IS NULL OR until > now()`) is an index read.
--
-- A daily stop holds until the campaign's next local midnight (`until`)
-- and may stay behind after it until the alerter lifts it; the total stop
-- has no `until`. No reference to campaigns: as for the alert ledger, a
-- commit must never fail on a campaign deleted meanwhile.

CREATE TABLE campaign_budget_stops (
    campaign_id uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    stop        text        NOT NULL CHECK (stop IN ('total', 'daily')),
    -- The result that crossed the limit.
    since       timestamptz NOT NULL,
    -- When it lifts by itself; NULL: never (the total).
    until       timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Stops in force now: the total ones (NULL) and the daily ones not yet
-- lifted, read as a BitmapOr of the two index conditions.
CREATE INDEX campaign_budget_stops_by_until ON campaign_budget_stops (until);

-- Row-level security as on every tenant table, in the form of migration 10.
-- The alerter and the gateway's directory read across tenants on system
-- sessions; the API reads its own tenant's stops in `tenant_tx`.
ALTER TABLE campaign_budget_stops ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_budget_stops FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_budget_stops
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');
