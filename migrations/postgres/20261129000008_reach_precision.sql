-- Unique users are HyperLogLog sketches with 2^14 registers from now on
-- (standard error 0.8%, so reach over a month lands within 2% of the exact
-- count; the default 2^11 gave 2.3%). Sketches of different precision
-- cannot be unioned, so sketches written before (pre-release data only)
-- are reset: their counts and sums stay, their reach starts over.
UPDATE campaign_aggregates SET users = hll_empty(14, 5) WHERE hll_log2m(users) <> 14;

-- Reports read a campaign's buckets by grain and time, and rank a tenant's
-- campaigns over a range of days.
DROP INDEX IF EXISTS campaign_aggregates_by_tenant;
CREATE INDEX IF NOT EXISTS campaign_aggregates_by_tenant_range
    ON campaign_aggregates (tenant_id, grain, bucket_start, campaign_id)
    INCLUDE (event_type, events, cost_micros, revenue_micros);
