import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { Dialog } from '../../../components/Dialog';
import { formatDateTime, formatMicros } from '../../../lib/format';
import { canManageCampaigns } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import { isEditable } from '../api/status';
import { useCampaign } from '../hooks/useCampaign';
import { useDeleteCampaign } from '../hooks/useCampaignMutations';
import { StatusBadge } from './StatusBadge';
import { StatusControl } from './StatusControl';

/** One campaign: its settings, lifecycle, and where to go from here. */
export function CampaignDetailPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const q = useCampaign(id);
  const del = useDeleteCampaign(id);
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const manage = canManageCampaigns(user?.role);

  if (q.isPending) return <Pending />;
  if (q.error) return <ErrorNotice error={q.error} title="Could not load the campaign." />;
  const { data: c, etag } = q.data;

  return (
    <section aria-labelledby="cd-title">
      <p>
        <Link to="/campaigns">← Campaigns</Link>
      </p>
      <div className="page-head">
        <h1 id="cd-title">{c.name}</h1>
        <StatusBadge status={c.status} />
      </div>
      <div className="actions">
        {manage && isEditable(c.status) ? (
          <Link className="btn" to={`/campaigns/${c.id}/edit`}>
            Edit
          </Link>
        ) : null}
        <Link className="btn" to={`/campaigns/${c.id}/targeting`}>
          {manage && isEditable(c.status) ? 'Edit targeting' : 'Targeting'}
        </Link>
        <Link className="btn" to={`/campaigns/${c.id}/live`}>
          Live view
        </Link>
        <Link className="btn" to={`/reports?campaign=${c.id}`}>
          Reports
        </Link>
        <Link className="btn" to={`/creatives?campaign=${c.id}`}>
          Creatives
        </Link>
        {manage ? (
          <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
            Delete
          </button>
        ) : null}
      </div>

      <dl className="props card">
        <dt>Brand</dt>
        <dd>{c.brand_id ?? '—'}</dd>
        <dt>Budget</dt>
        <dd>
          {formatMicros(c.budget?.total_micros, c.budget?.currency)}
          {c.budget?.daily_cap_micros != null ? ` (daily cap ${formatMicros(c.budget.daily_cap_micros, c.budget.currency)})` : ''}
        </dd>
        <dt>Schedule</dt>
        <dd>
          {formatDateTime(c.schedule?.start)} – {formatDateTime(c.schedule?.end)} ({c.schedule?.timezone ?? 'UTC'})
        </dd>
        <dt>Objectives</dt>
        <dd>{c.objectives.join(', ') || '—'}</dd>
        <dt>Channels</dt>
        <dd>{c.channels.join(', ') || '—'}</dd>
        <dt>Created</dt>
        <dd>{formatDateTime(c.created_at)}</dd>
        <dt>Updated</dt>
        <dd>
          {formatDateTime(c.updated_at)} (version {c.version})
        </dd>
      </dl>

      {manage ? (
        <section aria-labelledby="cd-status" className="card">
          <h2 id="cd-status">Status</h2>
          <StatusControl campaign={c} etag={etag} onStale={() => void q.refetch()} />
        </section>
      ) : null}

      {confirming ? (
        <Dialog title="Delete campaign?" onClose={() => setConfirming(false)}>
          <p>
            “{c.name}” will be deleted. This cannot be undone from the console.
          </p>
          <ErrorNotice error={del.error} />
          <div className="actions">
            <button
              type="button"
              className="btn btn-danger"
              disabled={del.isPending}
              onClick={() => del.mutate(etag, { onSuccess: () => void navigate('/campaigns') })}
            >
              Delete
            </button>
            <button type="button" className="btn" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </Dialog>
      ) : null}
    </section>
  );
}
