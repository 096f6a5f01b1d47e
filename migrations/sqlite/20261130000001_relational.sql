-- Embedded mode's relational tables: tenants, users and their refresh
-- tokens, campaigns, creatives and ingest keys, as the Postgres migrations
-- 0001, 0002 and 0005 to 0007 define them, in SQLite's terms:
-- - ids are 16-byte blobs (uuid), instants integer microseconds since the
--   Unix epoch, arrays and documents JSON text;
-- - no row-level security: the adapter names the tenant in every
--   tenant-scoped statement;
-- - Postgres' lower() is Unicode-aware and SQLite's is ASCII-only, so the
--   case-folded keys (users.email_key, campaigns.name_key) are computed by
--   the adapter in Rust and stored beside the text they fold.
-- STRICT: a value of the wrong type is an error, not silently kept.

CREATE TABLE tenants (
    id          BLOB    PRIMARY KEY CHECK (length(id) = 16),
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

-- One account per address across tenants: login names the address only.
-- email_key is the address lower-cased (the unique index of Postgres is on
-- lower(email)).
CREATE TABLE users (
    id             BLOB    PRIMARY KEY CHECK (length(id) = 16),
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    email          TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    email_key      TEXT    NOT NULL UNIQUE,
    -- argon2id, PHC string format
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'campaign_manager', 'analyst')),
    created_at     INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    deactivated_at INTEGER
) STRICT;
CREATE INDEX users_by_tenant ON users (tenant_id, created_at, id);

-- Refresh tokens are random and kept only as SHA-256. Each login starts a
-- family; a refresh uses its token and issues the next of the family.
-- Presenting a used token again means it was stolen: the whole family is
-- revoked.
CREATE TABLE refresh_tokens (
    id          BLOB    PRIMARY KEY CHECK (length(id) = 16),
    family_id   BLOB    NOT NULL,
    user_id     BLOB    NOT NULL REFERENCES users (id),
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    token_hash  BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
) STRICT;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
-- Deactivating a user revokes their tokens.
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

-- name_key is the name lower-cased: the name sort, its cursors
-- (CampaignSort::value_of) and the case-insensitive name filter.
-- objectives and channels are JSON arrays of text, targeting a JSON
-- document validated by the API and kept whole.
CREATE TABLE campaigns (
    id                      BLOB    PRIMARY KEY CHECK (length(id) = 16),
    tenant_id               BLOB    NOT NULL REFERENCES tenants (id),
    name                    TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_key                TEXT    NOT NULL,
    status                  TEXT    NOT NULL DEFAULT 'draft'
                                    CHECK (status IN ('draft', 'scheduled', 'active', 'paused', 'completed', 'archived')),
    brand_id                TEXT,
    budget_total_micros     INTEGER CHECK (budget_total_micros >= 0),
    budget_currency         TEXT    CHECK (budget_currency GLOB '[A-Z][A-Z][A-Z]'),
    budget_daily_cap_micros INTEGER CHECK (budget_daily_cap_micros >= 0),
    schedule_start          INTEGER,
    schedule_end            INTEGER,
    timezone                TEXT    NOT NULL DEFAULT 'UTC',
    objectives              TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(objectives) = 'array'),
    channels                TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(channels) = 'array'),
    targeting               TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(targeting)),
    -- Bumped by every change: the ETag, for optimistic concurrency.
    version                 INTEGER NOT NULL DEFAULT 1,
    created_at              INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    updated_at              INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    deleted_at              INTEGER,
    CONSTRAINT campaigns_schedule_order
        CHECK (schedule_end IS NULL OR schedule_start IS NULL OR schedule_end > schedule_start)
) STRICT;
-- Listings: every sort key within a tenant, the id breaking ties.
CREATE INDEX campaigns_by_tenant ON campaigns (tenant_id, created_at, id);
CREATE INDEX campaigns_by_tenant_updated ON campaigns (tenant_id, updated_at, id);
CREATE INDEX campaigns_by_tenant_name ON campaigns (tenant_id, name_key, id);
CREATE INDEX campaigns_by_tenant_budget ON campaigns (tenant_id, coalesce(budget_total_micros, -1), id);

-- Keys are 256 random bits shown once; only the SHA-256 is kept. The prefix
-- (first characters) lets people tell their keys apart in listings.
CREATE TABLE ingest_keys (
    id          BLOB    PRIMARY KEY CHECK (length(id) = 16),
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix      TEXT    NOT NULL,
    key_hash    BLOB    NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    revoked_at  INTEGER
) STRICT;
CREATE INDEX ingest_keys_by_tenant ON ingest_keys (tenant_id, created_at, id);

-- Creatives: images uploaded for a campaign. The bytes live in the asset
-- store under tenant/campaign/creative; this row is their catalogue.
CREATE TABLE creatives (
    id           BLOB    PRIMARY KEY CHECK (length(id) = 16),
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    campaign_id  BLOB    NOT NULL REFERENCES campaigns (id),
    filename     TEXT    NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    -- Sniffed from the bytes, never taken from the upload's header.
    content_type TEXT    NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    size_bytes   INTEGER NOT NULL CHECK (size_bytes > 0),
    sha256       BLOB    NOT NULL CHECK (length(sha256) = 32),
    width        INTEGER NOT NULL CHECK (width > 0),
    height       INTEGER NOT NULL CHECK (height > 0),
    created_at   INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    deleted_at   INTEGER
) STRICT;
CREATE INDEX creatives_by_campaign ON creatives (campaign_id, created_at DESC, id DESC);
