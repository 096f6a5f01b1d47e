-- The console's creatives library lists every creative of a tenant, newest
-- first, a page at a time: an index in that order, of live rows only.
CREATE INDEX creatives_by_tenant ON creatives (tenant_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
