-- Creatives: images uploaded for a campaign. The bytes (the original and
-- WebP thumbnails 150 and 300 px wide) live in object storage under
-- tenant/campaign/creative; this row is their catalogue.
CREATE TABLE creatives (
    id           uuid        PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    campaign_id  uuid        NOT NULL REFERENCES campaigns (id),
    filename     text        NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    -- Sniffed from the bytes, never taken from the upload's header.
    content_type text        NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    size_bytes   bigint      NOT NULL CHECK (size_bytes > 0),
    sha256       bytea       NOT NULL CHECK (length(sha256) = 32),
    width        integer     NOT NULL CHECK (width > 0),
    height       integer     NOT NULL CHECK (height > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE INDEX creatives_by_campaign ON creatives (campaign_id, created_at DESC, id DESC);

ALTER TABLE creatives ENABLE ROW LEVEL SECURITY;
ALTER TABLE creatives FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON creatives USING (adpulse_visible(tenant_id)) WITH CHECK (adpulse_visible(tenant_id));
