-- The alerter's ledger (`AlertLedger`) and the delivery log the API reads
-- (`AlertStore`): each rule's state per campaign, the history of firings
-- and resolutions, and the outbox of deliveries with every attempt.
--
-- States, firings and new deliveries are written in one transaction with
-- the alerter's position on the window-result stream (`consumer_offsets`,
-- fenced as the stream worker's commits), so a restarted or rebalanced
-- alerter neither repeats nor loses a notification. Ids of firings and
-- deliveries are v7 uuids the alerter makes: time-ordered, so "newest
-- first" is `id DESC` and pages need no other cursor. A delivery's id is
-- the idempotency key its receiver sees; retries and replays keep it.
--
-- No reference to rules or channels: a rule deleted while the alerter
-- holds it must not make its commit fail (the whole position would stall
-- behind it), and the history outlives both. A delivery whose channel is
-- gone is marked dead when it is next leased.

CREATE TABLE alert_states (
    rule_id     uuid        NOT NULL,
    campaign_id uuid        NOT NULL,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    -- `AlertState` as serde writes it.
    state       jsonb       NOT NULL CHECK (jsonb_typeof(state) = 'object'),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, campaign_id)
);
-- Every rule's state on one campaign, read before evaluating it.
CREATE INDEX alert_states_by_campaign ON alert_states (campaign_id);

CREATE TABLE alert_firings (
    id          uuid        PRIMARY KEY,
    rule_id     uuid        NOT NULL,
    campaign_id uuid        NOT NULL,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    kind        text        NOT NULL CHECK (kind IN ('fired', 'resolved')),
    at          timestamptz NOT NULL,
    -- False within a cooldown: kept as history, not sent.
    notified    boolean     NOT NULL,
    message     text        NOT NULL,
    -- What the condition saw: `[{metric, over, op, threshold, value}]`.
    -- Quoted: VALUES is a keyword (SQLite refuses it bare).
    "values"    jsonb       NOT NULL
);
-- A rule's history, newest first, a page at a time.
CREATE INDEX alert_firings_by_rule ON alert_firings (tenant_id, rule_id, id DESC);

CREATE TABLE alert_deliveries (
    id              uuid        PRIMARY KEY,
    firing_id       uuid        NOT NULL REFERENCES alert_firings (id) ON DELETE CASCADE,
    rule_id         uuid        NOT NULL,
    channel_id      uuid        NOT NULL,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    status          text        NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the next attempt is due; pending deliveries only.
    next_attempt_at timestamptz,
    -- An alerter is sending it until then; after, it is due again.
    leased_until    timestamptz,
    last_error      text,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_deliveries_pending_due CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL)
);
-- What is due: pending deliveries by when (the outbox's queue). Sent and
-- dead ones, nearly all rows in time, stay out of it.
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
-- A tenant's delivery log, newest first.
CREATE INDEX alert_deliveries_by_tenant ON alert_deliveries (tenant_id, id DESC);

CREATE TABLE alert_delivery_attempts (
    delivery_id uuid        NOT NULL REFERENCES alert_deliveries (id) ON DELETE CASCADE,
    -- 1 for the first.
    number      integer     NOT NULL CHECK (number >= 1),
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    at          timestamptz NOT NULL,
    -- The HTTP status, if one came back.
    status_code integer,
    -- NULL when the destination accepted it.
    error       text,
    duration_ms bigint      NOT NULL CHECK (duration_ms >= 0),
    PRIMARY KEY (delivery_id, number)
);

-- Row-level security as on every tenant table, in the form of migration 10.
-- The alerter works across tenants on a system session (the API's
-- tenant-scoped sessions read the log of their own tenant only).
ALTER TABLE alert_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_states FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_states
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

ALTER TABLE alert_firings ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_firings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_firings
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

ALTER TABLE alert_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_deliveries
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

ALTER TABLE alert_delivery_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_delivery_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_delivery_attempts
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');
