-- Alerts: notification channels and the rules that notify them, as the
-- Postgres migration 20261203000002 defines them, in SQLite's terms (ids
-- 16-byte blobs, instants integer microseconds since the Unix epoch, the
-- rule's spec JSON text; no row-level security: the adapter names the
-- tenant in every statement).
--
-- A rule is kept whole as `spec`, the JSON a client would write to create
-- it again (`RuleBody::of`); `name`, `enabled`, `campaign_id` and
-- `brand_id` repeat it for lookups. Deleting a channel a rule's
-- `channel_ids` still lists is refused by the adapter.
CREATE TABLE alert_channels (
    id              BLOB    PRIMARY KEY CHECK (length(id) = 16),
    tenant_id       BLOB    NOT NULL REFERENCES tenants (id),
    name            TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind            TEXT    NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
    -- The URL, or the e-mail address (checked by the API).
    target          TEXT    NOT NULL,
    secret          TEXT,
    previous_secret TEXT,
    previous_until  INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
-- A tenant's channels, oldest first.
CREATE INDEX alert_channels_by_tenant ON alert_channels (tenant_id, created_at, id);

CREATE TABLE alert_rules (
    id          BLOB    PRIMARY KEY CHECK (length(id) = 16),
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- The scope: one campaign, one brand, or (neither) every campaign.
    campaign_id BLOB    CHECK (length(campaign_id) = 16),
    brand_id    TEXT,
    spec        TEXT    NOT NULL CHECK (json_type(spec) = 'object'),
    -- Bumped by every change: the ETag, for optimistic concurrency.
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT alert_rules_one_scope CHECK (campaign_id IS NULL OR brand_id IS NULL)
) STRICT;
-- Listing a tenant's rules in id order, a page at a time.
CREATE INDEX alert_rules_by_tenant ON alert_rules (tenant_id, id);
-- The rules watching one campaign, or one brand.
CREATE INDEX alert_rules_by_campaign ON alert_rules (tenant_id, campaign_id)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX alert_rules_by_brand ON alert_rules (tenant_id, brand_id)
    WHERE brand_id IS NOT NULL;
