import { useEffect, useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { TimeChart, type ChartSeries } from '../../../components/TimeChart';
import { formatInt, formatMicros, formatDateTime } from '../../../lib/format';
import { useLiveStream, type LiveState } from '../hooks/useLiveStream';
import { useRealtime } from '../hooks/useRealtime';
import { useCampaignSummary } from '../hooks/useCampaignSummary';
import { densify, STEP_SECONDS } from '../api/series';

const BADGE: Record<LiveState, { label: string; cls: string }> = {
  connecting: { label: 'connecting', cls: 'badge-reconnecting' },
  live: { label: 'live', cls: 'badge-live' },
  reconnecting: { label: 'reconnecting', cls: 'badge-reconnecting' },
  unavailable: { label: 'live counters unavailable', cls: 'badge-down' },
  failed: { label: 'stream not available', cls: 'badge-down' },
};

/** Lifetime totals and the last hour in 5-second points, moving with the stream. */
export function LivePage() {
  const { id = '' } = useParams();
  const q = useRealtime(id);
  const state = useLiveStream(id);
  const campaign = useCampaignSummary(id);
  const name = campaign.data?.name ?? 'Campaign';
  const currency = campaign.data?.budget?.currency ?? null;
  const badge = BADGE[state];

  // Re-densified on every update and every 5 s, so quiet time moves the chart too.
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now() / 1000), STEP_SECONDS * 1000);
    return () => clearInterval(t);
  }, []);
  const chart = useMemo(() => {
    const d = densify(q.data?.series ?? [], Math.max(now, Date.now() / 1000));
    const lines: ChartSeries[] = [
      { label: 'Impressions', values: d.impressions, color: '#0b5cad' },
      { label: 'Clicks', values: d.clicks, color: '#b35900' },
      { label: 'Conversions', values: d.conversions, color: '#1a7f37' },
    ];
    return { times: d.times, lines };
  }, [q.data, now]);

  return (
    <section aria-labelledby="live-title">
      <p>
        <Link to={`/campaigns/${id}`}>← {name}</Link>
      </p>
      <div className="page-head">
        <h1 id="live-title">Live: {name}</h1>
        <span className={`badge ${badge.cls}`} role="status" aria-live="polite">
          {badge.label}
        </span>
      </div>
      <ErrorNotice error={q.error} title="Could not load the live numbers." />
      {q.isPending ? <Pending /> : null}
      {q.data ? (
        <>
          <dl className="totals" aria-label="Lifetime totals">
            <div>
              <dt>Impressions</dt>
              <dd>{formatInt(q.data.totals.impressions)}</dd>
            </div>
            <div>
              <dt>Clicks</dt>
              <dd>{formatInt(q.data.totals.clicks)}</dd>
            </div>
            <div>
              <dt>Conversions</dt>
              <dd>{formatInt(q.data.totals.conversions)}</dd>
            </div>
            <div>
              <dt>Spend</dt>
              <dd>{formatMicros(q.data.totals.spend_micros, currency)}</dd>
            </div>
            <div>
              <dt>Revenue</dt>
              <dd>{formatMicros(q.data.totals.revenue_micros, currency)}</dd>
            </div>
          </dl>
          <p className="muted">Counters last written {formatDateTime(q.data.updated_at ?? null)}.</p>
          <TimeChart title="The last hour in 5-second points" times={chart.times} series={chart.lines} />
        </>
      ) : null}
    </section>
  );
}
