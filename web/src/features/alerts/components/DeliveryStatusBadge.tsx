import type { AlertDeliveryStatus } from '../../../api/types';

export function DeliveryStatusBadge({ status }: { status: AlertDeliveryStatus }) {
  const cls = status === 'sent' ? 'status-active' : status === 'dead' ? 'status-dead' : 'status-paused';
  return <span className={`status ${cls}`}>{status}</span>;
}
