import type { AlertDelivery } from '../../../api/types';
import { Dialog } from '../../../components/Dialog';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { formatDateTime, formatInt } from '../../../lib/format';
import { useDelivery } from '../hooks/useDeliveries';
import { DeliveryStatusBadge } from './DeliveryStatusBadge';

/** One delivery: every attempt, oldest first, and what was sent. */
export function DeliveryDialog({
  delivery,
  channelName,
  onClose,
}: {
  delivery: AlertDelivery;
  channelName: (id: string) => string | undefined;
  onClose: () => void;
}) {
  const q = useDelivery(delivery.id);
  const d = q.data ?? delivery;
  return (
    <Dialog title={`Delivery to ${channelName(d.channel_id) ?? d.channel_id}`} onClose={onClose} wide>
      <dl className="props">
        <dt>Status</dt>
        <dd>
          <DeliveryStatusBadge status={d.status} />
        </dd>
        <dt>Created</dt>
        <dd>{formatDateTime(d.created_at)}</dd>
        {d.status === 'pending' ? (
          <>
            <dt>Next attempt</dt>
            <dd>{formatDateTime(d.next_attempt_at)}</dd>
          </>
        ) : null}
        <dt>Id</dt>
        <dd className="mono">{d.id} (the webhook-id receivers see)</dd>
      </dl>
      <h3>Attempts</h3>
      <ErrorNotice error={q.error} title="Could not load the attempts." />
      {q.isPending ? <Pending /> : null}
      {q.data ? (
        q.data.attempt_log.length === 0 ? (
          <p>No attempt yet.</p>
        ) : (
          <div className="table-wrap">
            <table aria-label="Attempts">
              <thead>
                <tr>
                  <th scope="col" className="num">
                    #
                  </th>
                  <th scope="col">Started</th>
                  <th scope="col" className="num">
                    Took (ms)
                  </th>
                  <th scope="col">HTTP status</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {q.data.attempt_log.map((a) => (
                  <tr key={a.number}>
                    <td className="num">{a.number}</td>
                    <td>{formatDateTime(a.at)}</td>
                    <td className="num">{formatInt(a.duration_ms)}</td>
                    <td>{a.status_code ?? '—'}</td>
                    <td className="wrap">{a.error ?? 'accepted'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
      <details>
        <summary>What was sent</summary>
        <pre className="payload">{JSON.stringify(d.payload, null, 2)}</pre>
      </details>
    </Dialog>
  );
}
