import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import type { CampaignStatus } from '../../../api/types';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { errorsUnder, fieldErrors } from '../../../api/errors';
import { formatDateTime, formatMicros } from '../../../lib/format';
import { canManageCampaigns } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import { NO_FILTERS, SORT_KEYS, type CampaignFilters, type Sort } from '../api/listQuery';
import { STATUSES } from '../api/status';
import { useCampaigns } from '../hooks/useCampaigns';
import { StatusBadge } from './StatusBadge';

const SORT_LABELS: Record<(typeof SORT_KEYS)[number], string> = {
  created_at: 'Created',
  updated_at: 'Updated',
  name: 'Name',
  budget: 'Budget',
};

/** The campaign listing: filters, sort, cursor paging. */
export function CampaignsPage() {
  const { user } = useSession();
  const [draft, setDraft] = useState<CampaignFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<CampaignFilters>(NO_FILTERS);
  const [sort, setSort] = useState<Sort>('-created_at');
  const [limit, setLimit] = useState(20);
  // Cursors of the pages before this one (cursor paging has no "previous").
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const q = useCampaigns({ ...filters, sort, limit, cursor });
  const errs = fieldErrors(q.error);

  const restart = () => setCursors([undefined]);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
    restart();
  };
  const reset = () => {
    setDraft(NO_FILTERS);
    setFilters(NO_FILTERS);
    restart();
  };
  const toggleStatus = (s: CampaignStatus) =>
    setDraft((d) => ({ ...d, status: d.status.includes(s) ? d.status.filter((x) => x !== s) : [...d.status, s] }));

  const sortKey = sort.replace(/^-/, '') as (typeof SORT_KEYS)[number];
  const desc = sort.startsWith('-');
  const page = q.data;

  return (
    <section aria-labelledby="campaigns-title">
      <div className="page-head">
        <h1 id="campaigns-title">Campaigns</h1>
        {canManageCampaigns(user?.role) ? (
          <Link className="btn btn-primary" to="/campaigns/new">
            New campaign
          </Link>
        ) : null}
      </div>

      <form className="filters card" onSubmit={apply} aria-label="Filter campaigns">
        <fieldset className="field">
          <legend>Status</legend>
          <div className="checks">
            {STATUSES.map((s) => (
              <label key={s} className="check">
                <input type="checkbox" checked={draft.status.includes(s)} onChange={() => toggleStatus(s)} />
                {s}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="field">
          <label htmlFor="f-q">Name contains</label>
          <input id="f-q" type="search" value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-brand">Brand</label>
          <input id="f-brand" value={draft.brand_id} onChange={(e) => setDraft({ ...draft, brand_id: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-from">Scheduled from</label>
          <input id="f-from" type="date" value={draft.start_date} onChange={(e) => setDraft({ ...draft, start_date: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-to">Scheduled until</label>
          <input id="f-to" type="date" value={draft.end_date} onChange={(e) => setDraft({ ...draft, end_date: e.target.value })} />
          {errsFor(errs, 'end_date')}
        </div>
        <div className="filter-actions">
          <button type="submit" className="btn btn-primary">
            Apply filters
          </button>
          <button type="button" className="btn" onClick={reset}>
            Reset
          </button>
        </div>
      </form>

      <div className="toolbar">
        <div className="field inline">
          <label htmlFor="f-sort">Sort by</label>
          <select
            id="f-sort"
            value={sortKey}
            onChange={(e) => {
              setSort(`${desc ? '-' : ''}${e.target.value}` as Sort);
              restart();
            }}
          >
            {SORT_KEYS.map((k) => (
              <option key={k} value={k}>
                {SORT_LABELS[k]}
              </option>
            ))}
          </select>
        </div>
        <div className="field inline">
          <label htmlFor="f-dir">Order</label>
          <select
            id="f-dir"
            value={desc ? 'desc' : 'asc'}
            onChange={(e) => {
              setSort(`${e.target.value === 'desc' ? '-' : ''}${sortKey}` as Sort);
              restart();
            }}
          >
            <option value="asc">Ascending</option>
            <option value="desc">Descending</option>
          </select>
        </div>
        <div className="field inline">
          <label htmlFor="f-limit">Per page</label>
          <select
            id="f-limit"
            value={limit}
            onChange={(e) => {
              setLimit(Number(e.target.value));
              restart();
            }}
          >
            {[20, 50, 100].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </div>

      <ErrorNotice error={q.error} title="Could not load campaigns." />
      {q.isPending ? <Pending /> : null}
      {page ? (
        <>
          <p className="muted" aria-live="polite">
            {page.pagination.total} campaign{page.pagination.total === 1 ? '' : 's'} · page {cursors.length}
          </p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Brand</th>
                  <th scope="col" className="num">
                    Budget
                  </th>
                  <th scope="col">Start</th>
                  <th scope="col">End</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {page.data.length === 0 ? (
                  <tr>
                    <td colSpan={7}>No campaigns match.</td>
                  </tr>
                ) : null}
                {page.data.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <Link to={`/campaigns/${c.id}`}>{c.name}</Link>
                    </td>
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td>{c.brand_id ?? '—'}</td>
                    <td className="num">{formatMicros(c.budget?.total_micros, c.budget?.currency)}</td>
                    <td>{formatDateTime(c.schedule?.start)}</td>
                    <td>{formatDateTime(c.schedule?.end)}</td>
                    <td>{formatDateTime(c.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              className="btn"
              disabled={cursors.length <= 1}
              onClick={() => setCursors((c) => c.slice(0, -1))}
            >
              Previous
            </button>
            <button
              type="button"
              className="btn"
              disabled={!page.pagination.next_cursor || q.isPlaceholderData}
              onClick={() => {
                const next = page.pagination.next_cursor;
                if (next) setCursors((c) => [...c, next]);
              }}
            >
              Next
            </button>
          </nav>
        </>
      ) : null}
    </section>
  );
}

function errsFor(errs: Record<string, string[]>, field: string) {
  const m = errorsUnder(errs, field);
  return m.length ? <span className="error-text">{m.join('; ')}</span> : null;
}
