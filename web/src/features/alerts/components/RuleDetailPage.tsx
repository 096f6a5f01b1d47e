import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError } from '../../../api/errors';
import { Dialog } from '../../../components/Dialog';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { useCampaignOptions } from '../../../hooks/useCampaignOptions';
import { formatDateTime } from '../../../lib/format';
import { canManageCampaigns } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import { summarize } from '../api/condition';
import { formatSecs } from '../api/form';
import { useAlertRule } from '../hooks/useAlertRule';
import { useChannels } from '../hooks/useChannels';
import { useDeleteRule } from '../hooks/useRuleMutations';
import { ScopeText } from './ScopeText';
import { DeliveryLog } from './DeliveryLog';
import { FiringsSection } from './FiringsSection';

/** One rule: its settings, its firings and its delivery log. */
export function RuleDetailPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const manage = canManageCampaigns(user?.role);
  const q = useAlertRule(id);
  const channels = useChannels();
  const campaigns = useCampaignOptions();
  const del = useDeleteRule(id);
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);

  if (q.isPending) return <Pending />;
  if (q.error) return <ErrorNotice error={q.error} title="Could not load the rule." />;
  const { data: r, etag } = q.data;
  const campaignName = (cid: string) => campaigns.data?.find((c) => c.id === cid)?.name;
  const channelName = (cid: string) => channels.data?.data.find((c) => c.id === cid)?.name;
  const ruleChannels = r.channel_ids ?? [];

  return (
    <section aria-labelledby="rd-title">
      <p>
        <Link to="/alerts">← Alerts</Link>
      </p>
      <div className="page-head">
        <h1 id="rd-title">{r.name}</h1>
        <span className={r.enabled === false ? 'status status-paused' : 'status status-active'}>
          {r.enabled === false ? 'disabled' : 'enabled'}
        </span>
      </div>
      {manage ? (
        <div className="actions">
          <Link className="btn" to={`/alerts/${r.id}/edit`}>
            Edit
          </Link>
          <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
            Delete
          </button>
        </div>
      ) : null}

      <dl className="props card">
        <dt>Watches</dt>
        <dd>
          <ScopeText rule={r} campaignName={campaignName} />
        </dd>
        <dt>Condition</dt>
        <dd className="mono-ish">{summarize(r.condition)}</dd>
        <dt>Hold for</dt>
        <dd>{formatSecs(r.for_secs ?? 0)}</dd>
        <dt>Cooldown</dt>
        <dd>{formatSecs(r.cooldown_secs ?? 900)}</dd>
        <dt>Notifies</dt>
        <dd>
          {ruleChannels.length === 0
            ? 'no channel (firings are recorded only)'
            : ruleChannels.map((c) => channelName(c) ?? c).join(', ')}
        </dd>
        <dt>Message</dt>
        <dd>
          {r.message_template ? <code className="template">{r.message_template}</code> : 'the default (the rule, the campaign and every value)'}
        </dd>
        <dt>Updated</dt>
        <dd>
          {formatDateTime(r.updated_at)} (version {r.version})
        </dd>
      </dl>

      <FiringsSection ruleId={r.id} campaignName={campaignName} />
      <DeliveryLog ruleId={r.id} manage={manage} channelName={channelName} />

      {confirming ? (
        <Dialog title="Delete rule?" onClose={() => setConfirming(false)}>
          <p>“{r.name}” will be deleted and stop notifying. This cannot be undone from the console.</p>
          {del.error instanceof ApiError && del.error.status === 412 ? (
            <div className="notice notice-warn" role="alert">
              Someone else changed this rule since you opened it.{' '}
              <button
                type="button"
                className="btn"
                onClick={() => {
                  del.reset();
                  void q.refetch();
                }}
              >
                Reload it
              </button>
            </div>
          ) : (
            <ErrorNotice error={del.error} />
          )}
          <div className="actions">
            <button
              type="button"
              className="btn btn-danger"
              disabled={del.isPending}
              onClick={() => del.mutate(etag, { onSuccess: () => void navigate('/alerts') })}
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
