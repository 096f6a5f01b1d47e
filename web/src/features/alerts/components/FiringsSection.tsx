import { Link } from 'react-router';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { formatDateTime } from '../../../lib/format';
import { useFirings } from '../hooks/useFirings';

/** A rule's firings and resolutions, newest first, older pages on demand. */
export function FiringsSection({ ruleId, campaignName }: { ruleId: string; campaignName: (id: string) => string | undefined }) {
  const q = useFirings(ruleId);
  const rows = q.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <section className="card" aria-labelledby="firings-title">
      <h2 id="firings-title">Firings</h2>
      <ErrorNotice error={q.error} title="Could not load firings." />
      {q.isPending ? <Pending /> : null}
      {q.data ? (
        <div className="table-wrap">
          <table aria-label="Firings">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Campaign</th>
                <th scope="col">Notified</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 ? (
                <tr>
                  <td colSpan={5}>The rule has not fired yet.</td>
                </tr>
              ) : null}
              {rows.map((f) => (
                <tr key={f.id}>
                  <td>{formatDateTime(f.at)}</td>
                  <td>{f.kind}</td>
                  <td>
                    <Link to={`/campaigns/${f.campaign_id}`}>{campaignName(f.campaign_id) ?? f.campaign_id}</Link>
                  </td>
                  <td>{f.notified ? 'yes' : 'no (within the cooldown)'}</td>
                  <td className="wrap">{f.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {q.hasNextPage ? (
        <div className="pager">
          <button type="button" className="btn" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
            {q.isFetchingNextPage ? 'Loading…' : 'Show older firings'}
          </button>
        </div>
      ) : null}
    </section>
  );
}
