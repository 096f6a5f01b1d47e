import { describe, expect, it } from 'vitest';
import type { CampaignStatus } from '../../../api/types';
import { allowedTransitions, canBecome, isEditable, STATUSES, transitionLabel } from './status';

describe('status transitions', () => {
  it('follow the domain lifecycle', () => {
    const next = (s: CampaignStatus) => allowedTransitions({ status: s } as { status: CampaignStatus });
    expect(next('draft')).toEqual(['scheduled', 'active']);
    expect(next('scheduled')).toEqual(['draft', 'active', 'paused']);
    expect(next('active')).toEqual(['paused', 'completed']);
    expect(next('paused')).toEqual(['active', 'completed']);
    expect(next('completed')).toEqual(['archived']);
    expect(next('archived')).toEqual([]);
  });

  it('prefer what the API says a campaign may do', () => {
    expect(allowedTransitions({ status: 'active', allowed_transitions: ['paused'] })).toEqual(['paused']);
  });

  it('never allow a step to the same status or out of archived', () => {
    for (const s of STATUSES) expect(canBecome(s, s)).toBe(false);
    for (const s of STATUSES) expect(canBecome('archived', s)).toBe(false);
    expect(canBecome('draft', 'completed')).toBe(false);
    expect(canBecome('paused', 'active')).toBe(true);
  });

  it('know when settings can still be edited', () => {
    expect(STATUSES.filter(isEditable)).toEqual(['draft', 'scheduled', 'active', 'paused']);
  });

  it('label resuming differently from activating', () => {
    expect(transitionLabel('paused', 'active')).toBe('Resume');
    expect(transitionLabel('draft', 'active')).toBe('Activate');
  });
});
