import type { CampaignStatus } from '../../../api/types';

export function StatusBadge({ status }: { status: CampaignStatus }) {
  return <span className={`status status-${status}`}>{status}</span>;
}
