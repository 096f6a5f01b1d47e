-- Per campaign and UTC week (Monday to Monday), summed like
-- campaign_day_totals and written with it by the stream worker: ranking
-- campaigns over a range reads whole weeks from here and only the days at
-- the range's edges from the day totals (a 30-day ranking reads about 6
-- rows per campaign instead of 30).
CREATE TABLE campaign_week_totals (
    tenant_id      uuid   NOT NULL,
    week           date   NOT NULL CHECK (extract(isodow FROM week) = 1),
    campaign_id    uuid   NOT NULL,
    impressions    bigint NOT NULL,
    clicks         bigint NOT NULL,
    conversions    bigint NOT NULL,
    cost_micros    bigint NOT NULL,
    revenue_micros bigint NOT NULL,
    PRIMARY KEY (tenant_id, week, campaign_id)
);
CREATE INDEX campaign_week_totals_covering ON campaign_week_totals (tenant_id, week)
    INCLUDE (campaign_id, impressions, clicks, conversions, cost_micros, revenue_micros);

ALTER TABLE campaign_week_totals ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_week_totals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_week_totals
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

INSERT INTO campaign_week_totals
SELECT tenant_id, date_trunc('week', day)::date, campaign_id,
       sum(impressions), sum(clicks), sum(conversions), sum(cost_micros), sum(revenue_micros)
FROM campaign_day_totals
GROUP BY 1, 2, 3;
