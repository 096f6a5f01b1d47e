import { useState } from 'react';
import type { Campaign, CampaignStatus } from '../../../api/types';
import { ApiError, describeError } from '../../../api/errors';
import { allowedTransitions, transitionLabel } from '../api/status';
import { useSetCampaignStatus } from '../hooks/useCampaignMutations';

/** Buttons for the lifecycle steps allowed from the current status. */
export function StatusControl({ campaign, etag, onStale }: { campaign: Campaign; etag: string; onStale: () => void }) {
  const setStatus = useSetCampaignStatus(campaign.id);
  const [said, setSaid] = useState('');
  const steps = allowedTransitions(campaign);

  const go = (to: CampaignStatus) => {
    setSaid('');
    setStatus.mutate(
      { status: to, etag },
      {
        onSuccess: (r) => setSaid(`Status changed to ${r.data.status}.`),
        onError: (e) => {
          if (e instanceof ApiError && e.status === 412) {
            setSaid('Someone else changed this campaign meanwhile; its current state has been reloaded. Check it and try again.');
            onStale();
          }
        },
      },
    );
  };

  const err = setStatus.error;
  const showErr = err && !(err instanceof ApiError && err.status === 412);
  return (
    <div className="status-control">
      {steps.length === 0 ? <p className="muted">No further status changes are possible.</p> : null}
      <div className="actions" role="group" aria-label="Change status">
        {steps.map((to) => (
          <button key={to} type="button" className="btn" disabled={setStatus.isPending} onClick={() => go(to)}>
            {transitionLabel(campaign.status, to)}
          </button>
        ))}
      </div>
      <p className="live-region" aria-live="polite" role="status">
        {said}
      </p>
      {showErr ? (
        <div className="notice notice-error" role="alert">
          {describeError(err)}
        </div>
      ) : null}
    </div>
  );
}
