-- The alerter's ledger and the delivery log, as the Postgres migration
-- 20261203000003 defines them, in SQLite's terms (ids 16-byte blobs,
-- instants integer microseconds since the Unix epoch, JSON as text; no
-- row-level security: tenant-scoped statements name the tenant).
--
-- States, firings and new deliveries are written in one transaction with
-- the alerter's position in `consumer_offsets`, fenced as the stream
-- worker's commits. Ids of firings and deliveries are time-ordered v7
-- uuids, so "newest first" is `id DESC`. No reference to rules or
-- channels: a deleted rule must not make a commit fail, and a delivery
-- whose channel is gone is marked dead when it is next leased.

CREATE TABLE alert_states (
    rule_id     BLOB    NOT NULL CHECK (length(rule_id) = 16),
    campaign_id BLOB    NOT NULL CHECK (length(campaign_id) = 16),
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    -- `AlertState` as serde writes it.
    state       TEXT    NOT NULL CHECK (json_type(state) = 'object'),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (rule_id, campaign_id)
) STRICT;
-- Every rule's state on one campaign, read before evaluating it.
CREATE INDEX alert_states_by_campaign ON alert_states (campaign_id);

CREATE TABLE alert_firings (
    id          BLOB    PRIMARY KEY CHECK (length(id) = 16),
    rule_id     BLOB    NOT NULL CHECK (length(rule_id) = 16),
    campaign_id BLOB    NOT NULL CHECK (length(campaign_id) = 16),
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('fired', 'resolved')),
    at          INTEGER NOT NULL,
    notified    INTEGER NOT NULL CHECK (notified IN (0, 1)),
    message     TEXT    NOT NULL,
    -- What the condition saw. Quoted: VALUES is a keyword here.
    "values"    TEXT    NOT NULL CHECK (json_valid("values"))
) STRICT;
-- A rule's history, newest first, a page at a time.
CREATE INDEX alert_firings_by_rule ON alert_firings (tenant_id, rule_id, id DESC);

CREATE TABLE alert_deliveries (
    id              BLOB    PRIMARY KEY CHECK (length(id) = 16),
    firing_id       BLOB    NOT NULL REFERENCES alert_firings (id) ON DELETE CASCADE,
    rule_id         BLOB    NOT NULL CHECK (length(rule_id) = 16),
    channel_id      BLOB    NOT NULL CHECK (length(channel_id) = 16),
    tenant_id       BLOB    NOT NULL REFERENCES tenants (id),
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the next attempt is due; pending deliveries only.
    next_attempt_at INTEGER,
    -- An alerter is sending it until then; after, it is due again.
    leased_until    INTEGER,
    last_error      TEXT,
    payload         TEXT    NOT NULL CHECK (json_valid(payload)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT alert_deliveries_pending_due CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL)
) STRICT;
-- What is due: pending deliveries by when.
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
-- A tenant's delivery log, newest first.
CREATE INDEX alert_deliveries_by_tenant ON alert_deliveries (tenant_id, id DESC);

CREATE TABLE alert_delivery_attempts (
    delivery_id BLOB    NOT NULL REFERENCES alert_deliveries (id) ON DELETE CASCADE,
    -- 1 for the first.
    number      INTEGER NOT NULL CHECK (number >= 1),
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    at          INTEGER NOT NULL,
    status_code INTEGER,
    -- NULL when the destination accepted it.
    error       TEXT,
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    PRIMARY KEY (delivery_id, number)
) STRICT;
