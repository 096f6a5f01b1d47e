-- The embedded raw-event archive: one row per event, newest first within a
-- campaign's day, as the CQL table `campaign_events` keeps them. Rows are
-- written again unchanged when the worker replays a batch (same key).
CREATE TABLE campaign_events (
    campaign_id    BLOB    NOT NULL,
    event_date     INTEGER NOT NULL, -- days since 1970-01-01 (UTC)
    occurred_at    INTEGER NOT NULL, -- microseconds since the epoch
    event_id       BLOB    NOT NULL,
    tenant_id      BLOB    NOT NULL,
    event_type     TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    ad_id          TEXT    NOT NULL,
    ingested_at    INTEGER NOT NULL,
    device_id      TEXT,
    cookie_id      TEXT,
    login_id       TEXT,
    email_sha256   TEXT,
    cost_micros    INTEGER NOT NULL,
    revenue_micros INTEGER NOT NULL,
    attributes     TEXT    NOT NULL, -- JSON object of strings
    expires_at     INTEGER NOT NULL, -- microseconds; pruned after
    PRIMARY KEY (campaign_id, event_date, occurred_at DESC, event_id DESC)
) WITHOUT ROWID;

CREATE INDEX campaign_events_expiry ON campaign_events (expires_at);
