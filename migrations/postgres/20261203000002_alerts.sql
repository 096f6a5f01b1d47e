-- Alerts: the notification channels a tenant sets up and the rules that
-- watch its campaigns and notify them, as the API manages them
-- (`AlertStore`).
--
-- A rule is kept whole as `spec`, the JSON a client would write to create
-- it again (`RuleBody::of`), so a new field of a rule needs no migration;
-- the adapter validates it again on every read. `name`, `enabled`,
-- `campaign_id` and `brand_id` repeat it for the queries that look rules
-- up (the alerter finds a campaign's rules, and its brand's), written
-- from the same spec by the same statement. Channels stay referenced from
-- the spec's `channel_ids`: deleting a channel a rule still uses is
-- refused by the adapter in the deleting transaction.
--
-- A webhook's secret is rotated with an overlap: the previous secret keeps
-- signing until `previous_until`, so receivers can switch over.
CREATE TABLE alert_channels (
    id              uuid        PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind            text        NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
    -- The URL, or the e-mail address (checked by the API).
    target          text        NOT NULL,
    secret          text,
    previous_secret text,
    previous_until  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- A tenant's channels, oldest first.
CREATE INDEX alert_channels_by_tenant ON alert_channels (tenant_id, created_at, id);

CREATE TABLE alert_rules (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    enabled     boolean     NOT NULL,
    -- The scope: one campaign, one brand, or (neither) every campaign.
    campaign_id uuid,
    brand_id    text,
    spec        jsonb       NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    -- Bumped by every change: the ETag, for optimistic concurrency.
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_rules_one_scope CHECK (campaign_id IS NULL OR brand_id IS NULL)
);
-- Listing a tenant's rules in id order, a page at a time.
CREATE INDEX alert_rules_by_tenant ON alert_rules (tenant_id, id);
-- The rules watching one campaign, or one brand.
CREATE INDEX alert_rules_by_campaign ON alert_rules (tenant_id, campaign_id)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX alert_rules_by_brand ON alert_rules (tenant_id, brand_id)
    WHERE brand_id IS NOT NULL;

-- Row-level security as on every tenant table, in the form of migration 10
-- (the session's tenant and scope read once per query, not once per row).
-- No GRANT: the application role owns its tables (migration 5).
ALTER TABLE alert_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_channels
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

ALTER TABLE alert_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_rules
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');
