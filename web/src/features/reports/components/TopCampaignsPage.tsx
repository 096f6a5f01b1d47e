import { useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import type { Ranked } from '../../../api/types';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { daysAgo, isoDay } from '../../../lib/format';
import { SERVER_SORTS, type ServerSort, type TopParams } from '../api/query';
import { sortRows } from '../api/rows';
import { useTopCampaigns } from '../hooks/useTopCampaigns';
import { METRIC_COLUMNS } from './metricColumns';

/** The API ranks by these; `spend_micros` sorts as `spend`. */
function serverSortOf(key: string): ServerSort | null {
  const k = key.replace(/_micros$/, '');
  return (SERVER_SORTS as readonly string[]).includes(k) ? (k as ServerSort) : null;
}

function columnLabel(key: string): string {
  if (key === 'name') return 'campaign';
  if (key === 'status') return 'status';
  return (METRIC_COLUMNS.find((c) => c.key === key)?.label ?? key).toLowerCase();
}

/** `-spend` → "spend (highest first)". */
function sortLabel(sort: string): string {
  const desc = sort.startsWith('-');
  return `${sort.replace(/^-/, '')} (${desc ? 'highest' : 'lowest'} first)`;
}

/** The tenant's campaigns ranked by any column. */
export function TopCampaignsPage() {
  const [draft, setDraft] = useState<TopParams>({
    start_date: daysAgo(29),
    end_date: isoDay(new Date()),
    status: '',
    brand_id: '',
    sort: '-spend',
    limit: 100,
    tz: '',
  });
  const [params, setParams] = useState<TopParams>(draft);
  // A column the API does not rank by sorts the returned rows here.
  const [local, setLocal] = useState<{ key: string; desc: boolean } | null>(null);
  const q = useTopCampaigns(params);

  const rows = useMemo(() => {
    const r = q.data?.rows ?? [];
    return local ? sortRows(r, local.key as keyof Ranked, local.desc) : r;
  }, [q.data, local]);

  const sortBy = (key: string) => {
    const server = serverSortOf(key);
    if (server) {
      const desc = params.sort === `-${server}` ? false : true;
      const sort = (desc ? `-${server}` : server) as TopParams['sort'];
      setLocal(null);
      setParams({ ...params, sort });
      setDraft({ ...draft, sort });
    } else {
      setLocal((l) => ({ key, desc: l?.key === key ? !l.desc : true }));
    }
  };
  const sortState = (key: string): 'ascending' | 'descending' | 'none' => {
    if (local) return local.key === key ? (local.desc ? 'descending' : 'ascending') : 'none';
    const server = serverSortOf(key);
    if (!server) return 'none';
    if (params.sort === `-${server}`) return 'descending';
    if (params.sort === server) return 'ascending';
    return 'none';
  };

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setParams(draft);
  };

  const header = (key: string, label: string, num = true) => (
    <th scope="col" className={num ? 'num' : undefined} aria-sort={sortState(key)} key={key}>
      <button type="button" className="sort" onClick={() => sortBy(key)}>
        {label}
        {sortState(key) === 'descending' ? '\u00a0▼' : sortState(key) === 'ascending' ? '\u00a0▲' : ''}
      </button>
    </th>
  );

  return (
    <section aria-labelledby="top-title">
      <div className="page-head">
        <h1 id="top-title">Top campaigns</h1>
        <Link to="/reports">← Campaign report</Link>
      </div>
      <form className="card filters" onSubmit={apply} aria-label="Ranking settings">
        <div className="field">
          <label htmlFor="top-start">From</label>
          <input id="top-start" type="date" value={draft.start_date} onChange={(e) => setDraft({ ...draft, start_date: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="top-end">Until (inclusive)</label>
          <input id="top-end" type="date" value={draft.end_date} onChange={(e) => setDraft({ ...draft, end_date: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="top-status">Status</label>
          <select id="top-status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
            <option value="">Any</option>
            {['draft', 'scheduled', 'active', 'paused', 'completed', 'archived'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="top-brand">Brand</label>
          <input id="top-brand" value={draft.brand_id} onChange={(e) => setDraft({ ...draft, brand_id: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="top-limit">How many</label>
          <input id="top-limit" type="number" min={1} max={1000} value={draft.limit} onChange={(e) => setDraft({ ...draft, limit: Number(e.target.value) || 100 })} />
        </div>
        <div className="field">
          <label htmlFor="top-tz">Time zone</label>
          <input id="top-tz" value={draft.tz} placeholder="UTC" onChange={(e) => setDraft({ ...draft, tz: e.target.value })} />
        </div>
        <div className="filter-actions">
          <button type="submit" className="btn btn-primary">
            Rank
          </button>
        </div>
      </form>
      <ErrorNotice error={q.error} title="Could not load the ranking." />
      {q.isFetching ? <Pending /> : null}
      {q.data ? (
        <>
          <p className="muted" aria-live="polite">
            {rows.length} campaigns · {q.data.start_date} to {q.data.end_date} ({q.data.timezone}) · ranked by{' '}
            {local ? `${columnLabel(local.key)} (${local.desc ? 'highest' : 'lowest'} first, among these)` : sortLabel(q.data.sort)}
          </p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  {header('name', 'Campaign', false)}
                  {header('status', 'Status', false)}
                  {METRIC_COLUMNS.map((c) => header(c.key, c.label))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={r.campaign_id}>
                    <td>{i + 1}</td>
                    <td>
                      <Link to={`/campaigns/${r.campaign_id}`}>{r.name}</Link>
                    </td>
                    <td>{r.status}</td>
                    {METRIC_COLUMNS.map((c) => (
                      <td className="num" key={c.key}>
                        {c.format((r as unknown as Record<string, number | null>)[c.key])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}
