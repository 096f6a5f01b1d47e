import { useState } from 'react';
import type { AlertDelivery, AlertDeliveryStatus } from '../../../api/types';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { formatDateTime } from '../../../lib/format';
import { useDeliveries, useReplayDelivery } from '../hooks/useDeliveries';
import { DeliveryDialog } from './DeliveryDialog';
import { DeliveryStatusBadge } from './DeliveryStatusBadge';

const STATUSES: [AlertDeliveryStatus | '', string][] = [
  ['', 'All'],
  ['pending', 'Pending'],
  ['sent', 'Sent'],
  ['dead', 'Dead letters'],
];

/** A rule's notifications, newest first: status, attempts, last error, next attempt; dead letters can be replayed. */
export function DeliveryLog({
  ruleId,
  manage,
  channelName,
}: {
  ruleId: string;
  manage: boolean;
  channelName: (id: string) => string | undefined;
}) {
  const [status, setStatus] = useState<AlertDeliveryStatus | ''>('');
  const q = useDeliveries(ruleId, status);
  const replay = useReplayDelivery();
  const [open, setOpen] = useState<AlertDelivery | null>(null);
  const [said, setSaid] = useState('');
  const rows = q.data?.pages.flatMap((p) => p.data) ?? [];

  return (
    <section className="card" aria-labelledby="deliveries-title">
      <div className="page-head">
        <h2 id="deliveries-title">Delivery log</h2>
        <div className="toolbar">
          <div className="field inline">
            <label htmlFor="dl-status">Status</label>
            <select id="dl-status" value={status} onChange={(e) => setStatus(e.target.value as AlertDeliveryStatus | '')}>
              {STATUSES.map(([s, label]) => (
                <option key={s} value={s}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <button type="button" className="btn" onClick={() => void q.refetch()} disabled={q.isFetching}>
            Refresh
          </button>
        </div>
      </div>
      <ErrorNotice error={q.error} title="Could not load deliveries." />
      <ErrorNotice error={replay.error} title="Could not replay." />
      <p role="status" aria-live="polite" className="live-region">
        {said}
      </p>
      {q.isPending ? <Pending /> : null}
      {q.data ? (
        <div className="table-wrap">
          <table aria-label="Deliveries">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
                <th scope="col">Next attempt</th>
                {manage ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 ? (
                <tr>
                  <td colSpan={manage ? 7 : 6}>{status ? `No ${status} deliveries.` : 'No deliveries yet.'}</td>
                </tr>
              ) : null}
              {rows.map((d) => (
                <tr key={d.id}>
                  <td>{formatDateTime(d.created_at)}</td>
                  <td>{channelName(d.channel_id) ?? d.channel_id}</td>
                  <td>
                    <DeliveryStatusBadge status={d.status} />
                  </td>
                  <td>
                    <button type="button" className="btn btn-link" onClick={() => setOpen(d)}>
                      {d.attempts} attempt{d.attempts === 1 ? '' : 's'}{' '}
                      <span className="visually-hidden">of the delivery created {formatDateTime(d.created_at)}</span>
                    </button>
                  </td>
                  <td className="wrap">{d.last_error ?? '—'}</td>
                  <td>{d.status === 'pending' ? formatDateTime(d.next_attempt_at) : '—'}</td>
                  {manage ? (
                    <td>
                      {d.status === 'dead' ? (
                        <button
                          type="button"
                          className="btn"
                          disabled={replay.isPending}
                          onClick={() => {
                            setSaid('');
                            replay.mutate(d.id, { onSuccess: () => setSaid('Replayed: the delivery is pending again.') });
                          }}
                        >
                          Replay{' '}<span className="visually-hidden">the delivery created {formatDateTime(d.created_at)}</span>
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {q.hasNextPage ? (
        <div className="pager">
          <button type="button" className="btn" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
            {q.isFetchingNextPage ? 'Loading…' : 'Show older deliveries'}
          </button>
        </div>
      ) : null}
      {open ? <DeliveryDialog delivery={open} channelName={channelName} onClose={() => setOpen(null)} /> : null}
    </section>
  );
}
