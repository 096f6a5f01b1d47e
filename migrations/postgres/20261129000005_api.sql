-- The campaign API: users and their refresh tokens, the campaign fields
-- campaign managers edit, and row-level security on every tenant table.

CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    email          text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- argon2id, PHC string format
    password_hash  text        NOT NULL,
    role           text        NOT NULL CHECK (role IN ('admin', 'campaign_manager', 'analyst')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz
);
-- One account per address across tenants: login names the address only.
CREATE UNIQUE INDEX users_by_email ON users (lower(email));
CREATE INDEX users_by_tenant ON users (tenant_id);

-- Refresh tokens are random and kept only as SHA-256. Each login starts a
-- family; a refresh uses its token and issues the next of the family.
-- Presenting a used token again means it was stolen: the whole family is
-- revoked.
CREATE TABLE refresh_tokens (
    id          uuid        PRIMARY KEY,
    family_id   uuid        NOT NULL,
    user_id     uuid        NOT NULL REFERENCES users (id),
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    token_hash  bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);

ALTER TABLE campaigns
    ADD COLUMN brand_id                text,
    ADD COLUMN budget_total_micros     bigint CHECK (budget_total_micros >= 0),
    ADD COLUMN budget_currency         text   CHECK (budget_currency ~ '^[A-Z]{3}$'),
    ADD COLUMN budget_daily_cap_micros bigint CHECK (budget_daily_cap_micros >= 0),
    ADD COLUMN schedule_start          timestamptz,
    ADD COLUMN schedule_end            timestamptz,
    ADD COLUMN timezone                text   NOT NULL DEFAULT 'UTC',
    ADD COLUMN objectives              text[] NOT NULL DEFAULT '{}',
    ADD COLUMN channels                text[] NOT NULL DEFAULT '{}',
    -- Bumped by every change: the ETag, for optimistic concurrency.
    ADD COLUMN version                 bigint NOT NULL DEFAULT 1,
    ADD CONSTRAINT campaigns_schedule_order CHECK (schedule_end IS NULL OR schedule_start IS NULL OR schedule_end > schedule_start);
CREATE INDEX campaigns_by_tenant_name ON campaigns (tenant_id, lower(name));

-- Row-level security. A row is visible when its tenant is the one the
-- transaction set (`SET LOCAL adpulse.tenant_id`), or when the session is a
-- system one (`adpulse.scope = system`, set at connection by the gateway,
-- the stream worker and the admin tools, whose work spans tenants). The API
-- connects without that option and sets the tenant per transaction, so a
-- query that forgot its tenant filter still sees only the caller's rows, and
-- one that forgot the tenant sees none. FORCE: the policies bind the tables'
-- owner too (the application role owns them).
CREATE FUNCTION adpulse_visible(row_tenant uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT current_setting('adpulse.scope', true) = 'system'
            OR row_tenant = nullif(current_setting('adpulse.tenant_id', true), '')::uuid
    $$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (adpulse_visible(id)) WITH CHECK (adpulse_visible(id));

ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaigns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaigns USING (adpulse_visible(tenant_id)) WITH CHECK (adpulse_visible(tenant_id));

ALTER TABLE ingest_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE ingest_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ingest_keys USING (adpulse_visible(tenant_id)) WITH CHECK (adpulse_visible(tenant_id));

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users USING (adpulse_visible(tenant_id)) WITH CHECK (adpulse_visible(tenant_id));

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens USING (adpulse_visible(tenant_id)) WITH CHECK (adpulse_visible(tenant_id));

ALTER TABLE campaign_aggregates ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_aggregates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_aggregates USING (adpulse_visible(tenant_id)) WITH CHECK (adpulse_visible(tenant_id));

ALTER TABLE campaign_live_series ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_live_series FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_live_series USING (adpulse_visible(tenant_id)) WITH CHECK (adpulse_visible(tenant_id));
