-- What the stream worker writes: aggregates and, in the same transaction, the
-- next offset of the partition they came from.

-- Counts and sums per campaign x channel x event type and time bucket, at
-- minute, hour and day grain. Unique users are HyperLogLog sketches, so reach
-- over any range is the union of sketches, never a sum of counts.
CREATE TABLE campaign_aggregates (
    campaign_id    uuid        NOT NULL,
    tenant_id      uuid        NOT NULL,
    grain          text        NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
    bucket_start   timestamptz NOT NULL,
    channel        text        NOT NULL,
    event_type     text        NOT NULL,
    events         bigint      NOT NULL CHECK (events >= 0),
    cost_micros    bigint      NOT NULL CHECK (cost_micros >= 0),
    revenue_micros bigint      NOT NULL CHECK (revenue_micros >= 0),
    users          hll         NOT NULL,
    PRIMARY KEY (campaign_id, grain, bucket_start, channel, event_type)
);
CREATE INDEX campaign_aggregates_by_tenant ON campaign_aggregates (tenant_id, grain, bucket_start);

-- Fencing: a worker that takes over a partition bumps its epoch; a commit
-- succeeds only with the epoch and offset its writer expects, so a zombie
-- (the previous owner, still running) can never apply a batch twice.
ALTER TABLE consumer_offsets ADD COLUMN owner_epoch bigint NOT NULL DEFAULT 0;
