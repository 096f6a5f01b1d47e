import { useState } from 'react';
import { Link } from 'react-router';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { useCampaignOptions } from '../../../hooks/useCampaignOptions';
import { canManageCampaigns } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import { summarize } from '../api/condition';
import { useAlertRules } from '../hooks/useAlertRules';
import { ChannelsSection } from './ChannelsSection';
import { ScopeText } from './ScopeText';

/** The rules (cursor pages) and the channels they notify. */
export function AlertsPage() {
  const { user } = useSession();
  const manage = canManageCampaigns(user?.role);
  // Cursors of the pages before this one (cursor paging has no "previous").
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const q = useAlertRules(cursors[cursors.length - 1]);
  const campaigns = useCampaignOptions();
  const campaignName = (id: string) => campaigns.data?.find((c) => c.id === id)?.name;
  const ruleName = (id: string) => q.data?.data.find((r) => r.id === id)?.name;
  const page = q.data;

  return (
    <section aria-labelledby="alerts-title">
      <div className="page-head">
        <h1 id="alerts-title">Alerts</h1>
        {manage ? (
          <Link className="btn btn-primary" to="/alerts/new">
            New rule
          </Link>
        ) : null}
      </div>

      <section className="card" aria-labelledby="rules-title">
        <h2 id="rules-title">Rules</h2>
        <ErrorNotice error={q.error} title="Could not load rules." />
        {q.isPending ? <Pending /> : null}
        {page ? (
          <>
            <div className="table-wrap">
              <table aria-label="Rules">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Watches</th>
                    <th scope="col">State</th>
                    <th scope="col">Condition</th>
                    {manage ? (
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    ) : null}
                  </tr>
                </thead>
                <tbody>
                  {page.data.length === 0 ? (
                    <tr>
                      <td colSpan={manage ? 5 : 4}>No rules yet.{manage ? ' Create one with “New rule”.' : ''}</td>
                    </tr>
                  ) : null}
                  {page.data.map((r) => {
                    const summary = summarize(r.condition);
                    return (
                      <tr key={r.id}>
                        <td>
                          <Link to={`/alerts/${r.id}`}>{r.name}</Link>
                        </td>
                        <td>
                          <ScopeText rule={r} campaignName={campaignName} />
                        </td>
                        <td>
                          <span className={r.enabled === false ? 'status status-paused' : 'status status-active'}>
                            {r.enabled === false ? 'disabled' : 'enabled'}
                          </span>
                        </td>
                        <td className="summary" title={summary}>
                          {summary}
                        </td>
                        {manage ? (
                          <td>
                            <Link className="btn" to={`/alerts/${r.id}/edit`}>
                              Edit{' '}<span className="visually-hidden">{r.name}</span>
                            </Link>
                          </td>
                        ) : null}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {cursors.length > 1 || page.next_cursor ? (
              <nav className="pager" aria-label="Rule pages">
                <button type="button" className="btn" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                  Previous
                </button>
                <button
                  type="button"
                  className="btn"
                  disabled={!page.next_cursor || q.isPlaceholderData}
                  onClick={() => {
                    const next = page.next_cursor;
                    if (next) setCursors((c) => [...c, next]);
                  }}
                >
                  Next
                </button>
              </nav>
            ) : null}
          </>
        ) : null}
      </section>

      <ChannelsSection manage={manage} ruleName={ruleName} />
    </section>
  );
}
