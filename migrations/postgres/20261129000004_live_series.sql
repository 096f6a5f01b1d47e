-- The live series: per campaign, counts in 5-second points, kept for the last
-- hour (the worker prunes older points). Written in the same transaction as
-- the aggregates and the partition's offset, so the series in Redis can be
-- rewritten from exact state after any crash, like the live totals.
CREATE TABLE campaign_live_series (
    campaign_id    uuid        NOT NULL,
    tenant_id      uuid        NOT NULL,
    point_start    timestamptz NOT NULL,
    impressions    bigint      NOT NULL CHECK (impressions >= 0),
    clicks         bigint      NOT NULL CHECK (clicks >= 0),
    conversions    bigint      NOT NULL CHECK (conversions >= 0),
    cost_micros    bigint      NOT NULL CHECK (cost_micros >= 0),
    revenue_micros bigint      NOT NULL CHECK (revenue_micros >= 0),
    PRIMARY KEY (campaign_id, point_start)
);
CREATE INDEX campaign_live_series_by_start ON campaign_live_series (point_start);
