-- Per campaign and UTC day, summed over channels and event types: what
-- ranking a tenant's campaigns over a range needs, in one narrow row. The
-- stream worker adds to it in the same transaction as the aggregates.
-- Ranking 10,000 campaigns over 30 days reads 300,000 of these rows by one
-- primary-key range, instead of every day-grain aggregate row through the
-- wide tenant index of migration 8, which this replaces.
CREATE TABLE campaign_day_totals (
    tenant_id      uuid   NOT NULL,
    day            date   NOT NULL,
    campaign_id    uuid   NOT NULL,
    impressions    bigint NOT NULL,
    clicks         bigint NOT NULL,
    conversions    bigint NOT NULL,
    cost_micros    bigint NOT NULL,
    revenue_micros bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, campaign_id)
);

ALTER TABLE campaign_day_totals ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_day_totals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_day_totals
    USING (adpulse_visible(tenant_id)) WITH CHECK (adpulse_visible(tenant_id));

INSERT INTO campaign_day_totals
SELECT tenant_id, (bucket_start AT TIME ZONE 'UTC')::date, campaign_id,
       coalesce(sum(events) FILTER (WHERE event_type = 'impression'), 0),
       coalesce(sum(events) FILTER (WHERE event_type = 'click'), 0),
       coalesce(sum(events) FILTER (WHERE event_type = 'conversion'), 0),
       sum(cost_micros), sum(revenue_micros)
FROM campaign_aggregates WHERE grain = 'day'
GROUP BY 1, 2, 3;

DROP INDEX IF EXISTS campaign_aggregates_by_tenant_range;
CREATE INDEX IF NOT EXISTS campaign_aggregates_by_tenant ON campaign_aggregates (tenant_id, grain, bucket_start);
