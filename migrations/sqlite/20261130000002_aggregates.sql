-- What the stream worker writes in embedded mode: the next offset of each
-- partition, the aggregates and the live series, in one transaction.
-- Conventions: ids are 16-byte uuid blobs, instants integer microseconds
-- since the Unix epoch, grains the text `Grain::stored()` gives.

-- The next offset each (consumer group, topic, partition) will apply.
-- A worker that takes over a partition bumps its epoch; a commit succeeds
-- only with the epoch and offset its writer expects, so a zombie (the
-- previous owner, still running) can never apply a batch twice.
CREATE TABLE consumer_offsets (
    consumer_group TEXT    NOT NULL,
    topic          TEXT    NOT NULL,
    partition      INTEGER NOT NULL CHECK (partition >= 0),
    next_offset    INTEGER NOT NULL CHECK (next_offset >= 0),
    owner_epoch    INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (consumer_group, topic, partition)
) STRICT;

-- Counts and sums per campaign x channel x event type and time bucket, at
-- minute, hour and UTC-day grain and in days local to the campaign's zone
-- ('day@<zone>', from the zone's local midnight). Unique users are
-- `adpulse_domain::reach::Sketch` encodings, merged by the adapter: reach
-- over any span is the union of its rows' sketches, never a sum.
-- A rowid table: dense sketches are 12 KB, too large for WITHOUT ROWID.
CREATE TABLE campaign_aggregates (
    campaign_id    BLOB    NOT NULL CHECK (length(campaign_id) = 16),
    tenant_id      BLOB    NOT NULL CHECK (length(tenant_id) = 16),
    grain          TEXT    NOT NULL CHECK (grain IN ('minute', 'hour', 'day') OR grain LIKE 'day@%'),
    bucket_start   INTEGER NOT NULL,
    channel        TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    events         INTEGER NOT NULL CHECK (events >= 0),
    cost_micros    INTEGER NOT NULL CHECK (cost_micros >= 0),
    revenue_micros INTEGER NOT NULL CHECK (revenue_micros >= 0),
    users          BLOB    NOT NULL,
    PRIMARY KEY (campaign_id, grain, bucket_start, channel, event_type)
) STRICT;
-- Ranking a tenant's campaigns over a range: the sums without the
-- sketches (a covering index, so ranking never reads the wide rows).
CREATE INDEX campaign_aggregates_by_tenant_range ON campaign_aggregates
    (tenant_id, grain, bucket_start, campaign_id, event_type, events, cost_micros, revenue_micros);

-- The live series: per campaign, counts in 5-second points, kept for the
-- last hour (the worker prunes older points).
CREATE TABLE campaign_live_series (
    campaign_id    BLOB    NOT NULL CHECK (length(campaign_id) = 16),
    tenant_id      BLOB    NOT NULL CHECK (length(tenant_id) = 16),
    point_start    INTEGER NOT NULL,
    impressions    INTEGER NOT NULL CHECK (impressions >= 0),
    clicks         INTEGER NOT NULL CHECK (clicks >= 0),
    conversions    INTEGER NOT NULL CHECK (conversions >= 0),
    cost_micros    INTEGER NOT NULL CHECK (cost_micros >= 0),
    revenue_micros INTEGER NOT NULL CHECK (revenue_micros >= 0),
    PRIMARY KEY (campaign_id, point_start)
) STRICT, WITHOUT ROWID;
CREATE INDEX campaign_live_series_by_start ON campaign_live_series (point_start);
