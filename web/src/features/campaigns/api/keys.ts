import type { CampaignListParams } from './listQuery';

export const campaignKeys = {
  all: ['campaigns'] as const,
  list: (p: CampaignListParams) => ['campaigns', 'list', p] as const,
  one: (id: string) => ['campaigns', 'one', id] as const,
  targeting: (id: string) => ['campaigns', 'targeting', id] as const,
};
