import { useQuery } from '@tanstack/react-query';
import type { Campaign } from '../../../api/types';
import { useApi } from '../../../session/context';

/**
 * GET /campaigns/{id}: the name and currency for the live page (the
 * pickers' list holds only the first 100 campaigns by name).
 */
export function useCampaignSummary(id: string) {
  const api = useApi();
  return useQuery({
    queryKey: ['live', 'campaign', id],
    queryFn: ({ signal }) => api.json<Campaign>(`/campaigns/${encodeURIComponent(id)}`, { signal }),
    staleTime: 60_000,
  });
}
