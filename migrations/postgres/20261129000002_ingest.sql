-- What ingestion checks on every request: ingest keys and campaign ownership.
-- The campaign API (later) extends campaigns with budget, schedule, targeting.

CREATE TABLE campaigns (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status      text        NOT NULL DEFAULT 'draft'
                            CHECK (status IN ('draft', 'scheduled', 'active', 'paused', 'completed', 'archived')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE INDEX campaigns_by_tenant ON campaigns (tenant_id, created_at DESC);

-- Keys are 256 random bits shown once; only the SHA-256 is kept. The prefix
-- (first characters) lets people tell their keys apart in listings.
CREATE TABLE ingest_keys (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix      text        NOT NULL,
    key_hash    bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX ingest_keys_by_tenant ON ingest_keys (tenant_id);
