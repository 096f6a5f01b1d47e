import { useMemo, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { ReportRow } from '../../../api/types';
import { errorsUnder, fieldErrors } from '../../../api/errors';
import { CampaignPicker } from '../../../components/CampaignPicker';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { FieldErrors } from '../../../components/FieldErrors';
import { Pending } from '../../../components/Pending';
import { TimeChart } from '../../../components/TimeChart';
import { daysAgo, isoDay, timeZones } from '../../../lib/format';
import type { Breakdown, Granularity, ReportParams } from '../api/query';
import { fillFor, sumByPeriod } from '../api/rows';
import { useCampaignReport } from '../hooks/useCampaignReport';
import { useExportReport } from '../hooks/useExportReport';
import { METRIC_COLUMNS } from './metricColumns';

function value(row: ReportRow, key: string): number | null | undefined {
  return (row as unknown as Record<string, number | null | undefined>)[key];
}

/** aria-invalid and the errors' id on an input whose field the API complained about. */
function invalid(messages: string[] | undefined, id: string) {
  return messages?.length ? { 'aria-invalid': true, 'aria-describedby': id } : {};
}

/** A campaign's report: pickers, a chart and a table of the same rows, CSV. */
export function ReportsPage() {
  const [search, setSearch] = useSearchParams();
  const campaignId = search.get('campaign') ?? '';
  const [draft, setDraft] = useState<ReportParams>({
    start_date: daysAgo(6),
    end_date: isoDay(new Date()),
    granularity: 'day',
    breakdown: '',
    tz: '',
  });
  const [params, setParams] = useState<ReportParams>(draft);
  const q = useCampaignReport(campaignId, params);
  const csv = useExportReport();
  const zones = useMemo(timeZones, []);
  const errs = fieldErrors(q.error);
  const sums = useMemo(
    () => sumByPeriod(q.data?.rows ?? [], q.data ? fillFor(q.data.granularity, q.data.start_date, q.data.end_date) : undefined),
    [q.data],
  );
  const chartSeries = useMemo(
    () => [
      { label: 'Impressions', values: sums.impressions, color: '#0b5cad' },
      { label: 'Clicks', values: sums.clicks, color: '#b35900' },
      { label: 'Conversions', values: sums.conversions, color: '#1a7f37' },
    ],
    [sums],
  );

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setParams(draft);
  };
  const breakdownCols: ('channel' | 'event_type')[] = params.breakdown
    ? (params.breakdown.split(',') as ('channel' | 'event_type')[])
    : [];

  return (
    <section aria-labelledby="rp-title">
      <div className="page-head">
        <h1 id="rp-title">Reports</h1>
        <Link to="/reports/top">Top campaigns →</Link>
      </div>
      <form className="card filters" onSubmit={apply} aria-label="Report settings">
        <CampaignPicker
          id="rp-campaign"
          value={campaignId}
          onChange={(id) => setSearch(id ? { campaign: id } : {}, { replace: true })}
        />
        <div className="field">
          <label htmlFor="rp-start">From</label>
          <input id="rp-start" type="date" value={draft.start_date} onChange={(e) => setDraft({ ...draft, start_date: e.target.value })} required {...invalid(errs.start_date, 'rp-start-errors')} />
          <FieldErrors id="rp-start-errors" messages={errs.start_date} />
        </div>
        <div className="field">
          <label htmlFor="rp-end">Until (inclusive)</label>
          <input id="rp-end" type="date" value={draft.end_date} onChange={(e) => setDraft({ ...draft, end_date: e.target.value })} required {...invalid(errs.end_date, 'rp-end-errors')} />
          <FieldErrors id="rp-end-errors" messages={errs.end_date} />
        </div>
        <div className="field">
          <label htmlFor="rp-gran">Granularity</label>
          <select id="rp-gran" value={draft.granularity} onChange={(e) => setDraft({ ...draft, granularity: e.target.value as Granularity })}>
            <option value="hour">Hour (at most 62 days)</option>
            <option value="day">Day</option>
            <option value="total">Total</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="rp-breakdown">Breakdown</label>
          <select id="rp-breakdown" value={draft.breakdown} onChange={(e) => setDraft({ ...draft, breakdown: e.target.value as Breakdown })}>
            <option value="">None</option>
            <option value="channel">Channel</option>
            <option value="event_type">Event type</option>
            <option value="channel,event_type">Channel and event type</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="rp-tz">Time zone</label>
          <input id="rp-tz" list="rp-zones" value={draft.tz} placeholder="The campaign's" onChange={(e) => setDraft({ ...draft, tz: e.target.value })} {...invalid(errorsUnder(errs, 'tz'), 'rp-tz-errors')} />
          <datalist id="rp-zones">
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          <FieldErrors id="rp-tz-errors" messages={errorsUnder(errs, 'tz')} />
        </div>
        <div className="filter-actions">
          <button type="submit" className="btn btn-primary">
            Show report
          </button>
          <button
            type="button"
            className="btn"
            disabled={!campaignId || !q.data || csv.isPending}
            onClick={() => csv.mutate({ campaignId, params })}
          >
            {csv.isPending ? 'Preparing CSV…' : 'Download CSV'}
          </button>
        </div>
      </form>
      <ErrorNotice error={csv.error} title="The CSV could not be downloaded." />
      {!campaignId ? <p>Choose a campaign to see its report.</p> : null}
      <ErrorNotice error={q.error} title="Could not load the report." />
      {campaignId && q.isFetching ? <Pending /> : null}
      {q.data ? (
        <>
          <p className="muted" aria-live="polite">
            {q.data.rows.length} rows · {q.data.start_date} to {q.data.end_date} · {q.data.timezone} · {q.data.granularity}
          </p>
          {q.data.granularity !== 'total' && sums.times.length > 0 ? (
            <TimeChart title="Impressions, clicks and conversions per period" times={sums.times} series={chartSeries} />
          ) : null}
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Report rows</caption>
              <thead>
                <tr>
                  <th scope="col">Period</th>
                  {breakdownCols.map((b) => (
                    <th scope="col" key={b}>
                      {b === 'channel' ? 'Channel' : 'Event type'}
                    </th>
                  ))}
                  {METRIC_COLUMNS.map((c) => (
                    <th scope="col" className="num" key={c.key}>
                      {c.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {q.data.rows.map((r, i) => (
                  <tr key={i}>
                    <td>{r.period ?? 'all'}</td>
                    {breakdownCols.map((b) => (
                      <td key={b}>{r[b] ?? '—'}</td>
                    ))}
                    {METRIC_COLUMNS.map((c) => (
                      <td className="num" key={c.key}>
                        {c.format(value(r, c.key))}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  {breakdownCols.map((b) => (
                    <td key={b} />
                  ))}
                  {METRIC_COLUMNS.map((c) => (
                    <td className="num" key={c.key}>
                      <strong>{c.format(value(q.data.totals, c.key))}</strong>
                    </td>
                  ))}
                </tr>
              </tfoot>
            </table>
          </div>
          {q.data.totals.saturated ? (
            <p className="notice notice-warn">Some numbers exceeded the counters' range; they are lower bounds.</p>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
