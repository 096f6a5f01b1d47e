-- Ranking a tenant's campaigns over any range of UTC days from two rows
-- per campaign, whatever the range's length: running totals (everything
-- through a day, inclusive) for every day from a campaign's first event to
-- its last, and its lifetime totals. The sums over [from, to) are the
-- running totals at the range's last day (or the lifetime totals, when the
-- campaign's last event is before it) minus those at the day before the
-- range (nothing, when its first event is after it). Summing day rows
-- instead read n rows per campaign (and weeks plus edge days, migration
-- 11, still about 11 for 30 days). The worker fills the days between a
-- campaign's events and adds a late event's numbers to every later day.
CREATE TABLE campaign_running_totals (
    tenant_id      uuid   NOT NULL,
    day            date   NOT NULL,
    campaign_id    uuid   NOT NULL,
    impressions    bigint NOT NULL,
    clicks         bigint NOT NULL,
    conversions    bigint NOT NULL,
    cost_micros    bigint NOT NULL,
    revenue_micros bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, campaign_id)
) WITH (fillfactor = 90);

CREATE TABLE campaign_lifetime_totals (
    tenant_id      uuid   NOT NULL,
    campaign_id    uuid   NOT NULL,
    first_day      date   NOT NULL,
    last_day       date   NOT NULL CHECK (last_day >= first_day),
    impressions    bigint NOT NULL,
    clicks         bigint NOT NULL,
    conversions    bigint NOT NULL,
    cost_micros    bigint NOT NULL,
    revenue_micros bigint NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id)
);

ALTER TABLE campaign_running_totals ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_running_totals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_running_totals
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

ALTER TABLE campaign_lifetime_totals ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_lifetime_totals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_lifetime_totals
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

INSERT INTO campaign_lifetime_totals
SELECT tenant_id, campaign_id, min(day), max(day),
       sum(impressions), sum(clicks), sum(conversions), sum(cost_micros), sum(revenue_micros)
FROM campaign_day_totals
GROUP BY tenant_id, campaign_id;

INSERT INTO campaign_running_totals
SELECT l.tenant_id, g.day::date, l.campaign_id,
       sum(coalesce(t.impressions, 0)) OVER w, sum(coalesce(t.clicks, 0)) OVER w,
       sum(coalesce(t.conversions, 0)) OVER w, sum(coalesce(t.cost_micros, 0)) OVER w,
       sum(coalesce(t.revenue_micros, 0)) OVER w
FROM campaign_lifetime_totals l
CROSS JOIN LATERAL generate_series(l.first_day, l.last_day, interval '1 day') AS g(day)
LEFT JOIN campaign_day_totals t
       ON t.tenant_id = l.tenant_id AND t.campaign_id = l.campaign_id AND t.day = g.day::date
WINDOW w AS (PARTITION BY l.tenant_id, l.campaign_id ORDER BY g.day);

-- The day and week totals of migrations 9 and 11 are no longer read.
DROP TABLE campaign_day_totals;
DROP TABLE campaign_week_totals;

-- Unique users per campaign and UTC day, and per campaign and UTC week
-- (Monday to Monday): one sketch each, the union over channels and event
-- types. The reach of a ranked campaign over a range is then the union of
-- its whole weeks and edge days (about 12 sketches for 30 days) instead of
-- every day-grain aggregate row (up to 450: days x channels x event types).
-- Kept apart from the sums so that ranking, which reads every campaign's
-- sums, scans narrow rows; reach is read only for the campaigns ranked.
CREATE TABLE campaign_day_reach (
    campaign_id uuid NOT NULL,
    day         date NOT NULL,
    tenant_id   uuid NOT NULL,
    users       hll  NOT NULL,
    PRIMARY KEY (campaign_id, day)
);

CREATE TABLE campaign_week_reach (
    campaign_id uuid NOT NULL,
    week        date NOT NULL CHECK (extract(isodow FROM week) = 1),
    tenant_id   uuid NOT NULL,
    users       hll  NOT NULL,
    PRIMARY KEY (campaign_id, week)
);

ALTER TABLE campaign_day_reach ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_day_reach FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_day_reach
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

ALTER TABLE campaign_week_reach ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_week_reach FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_week_reach
    USING (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system')
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('adpulse.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('adpulse.scope', true)) = 'system');

INSERT INTO campaign_day_reach
SELECT campaign_id, (bucket_start AT TIME ZONE 'UTC')::date, min(tenant_id::text)::uuid, hll_union_agg(users)
FROM campaign_aggregates WHERE grain = 'day'
GROUP BY 1, 2;

INSERT INTO campaign_week_reach
SELECT campaign_id, date_trunc('week', day)::date, min(tenant_id::text)::uuid, hll_union_agg(users)
FROM campaign_day_reach
GROUP BY 1, 2;
