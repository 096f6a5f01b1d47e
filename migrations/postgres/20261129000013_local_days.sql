-- Days local to each campaign's time zone, stored as grain 'day@<zone>'
-- with bucket_start at the zone's local midnight: a 30-day report by day in
-- the campaign's zone reads 30 rows per channel and event type instead of
-- 720 hour rows (or 43,200 minute rows in a half-hour zone). The worker
-- writes them with the zone the gateway saw for the campaign; rows of a
-- former zone keep their own grain and are never read as the new zone's.
ALTER TABLE campaign_aggregates DROP CONSTRAINT IF EXISTS campaign_aggregates_grain_check;
ALTER TABLE campaign_aggregates ADD CONSTRAINT campaign_aggregates_grain_check
    CHECK (grain IN ('minute', 'hour', 'day') OR grain LIKE 'day@%');

-- What was aggregated before, in each campaign's current zone, from the
-- minute rows (exact in every zone; sketches union without loss).
INSERT INTO campaign_aggregates
    (campaign_id, tenant_id, grain, bucket_start, channel, event_type, events, cost_micros, revenue_micros, users)
SELECT a.campaign_id, a.tenant_id, 'day@' || z.zone,
       ((a.bucket_start AT TIME ZONE z.zone)::date)::timestamp AT TIME ZONE z.zone,
       a.channel, a.event_type, sum(a.events), sum(a.cost_micros), sum(a.revenue_micros), hll_union_agg(a.users)
FROM campaign_aggregates a
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT c.timezone FROM campaigns c WHERE c.id = a.campaign_id), 'UTC') AS zone
) z
WHERE a.grain = 'minute'
GROUP BY a.campaign_id, a.tenant_id, z.zone, (a.bucket_start AT TIME ZONE z.zone)::date, a.channel, a.event_type;
