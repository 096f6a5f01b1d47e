import type { Campaign, CampaignStatus } from '../../../api/types';

export const STATUSES: CampaignStatus[] = ['draft', 'scheduled', 'active', 'paused', 'completed', 'archived'];

/** The lifecycle as `adpulse_domain::CampaignStatus::next` has it. */
const NEXT: Record<CampaignStatus, CampaignStatus[]> = {
  draft: ['scheduled', 'active'],
  scheduled: ['draft', 'active', 'paused'],
  active: ['paused', 'completed'],
  paused: ['active', 'completed'],
  completed: ['archived'],
  archived: [],
};

/**
 * Where a campaign may go next: what the API said (`allowed_transitions`),
 * or the known lifecycle when it said nothing.
 */
export function allowedTransitions(c: Pick<Campaign, 'status'> & { allowed_transitions?: CampaignStatus[] }): CampaignStatus[] {
  return c.allowed_transitions ?? NEXT[c.status] ?? [];
}

export function canBecome(from: CampaignStatus, to: CampaignStatus): boolean {
  return NEXT[from]?.includes(to) ?? false;
}

/** Settings may be edited until a campaign completes. */
export function isEditable(status: CampaignStatus): boolean {
  return status !== 'completed' && status !== 'archived';
}

/** The button for a step. */
export function transitionLabel(from: CampaignStatus, to: CampaignStatus): string {
  switch (to) {
    case 'draft':
      return 'Back to draft';
    case 'scheduled':
      return 'Schedule';
    case 'active':
      return from === 'paused' ? 'Resume' : 'Activate';
    case 'paused':
      return 'Pause';
    case 'completed':
      return 'Complete';
    case 'archived':
      return 'Archive';
  }
}
