// Campaign names for pickers on pages outside the campaigns feature
// (reports, creatives): GET /campaigns sorted by name, first 100.
import { useQuery } from '@tanstack/react-query';
import type { CampaignPage } from '../api/types';
import { useApi } from '../session/context';

export function useCampaignOptions() {
  const api = useApi();
  return useQuery({
    queryKey: ['campaign-options'],
    queryFn: ({ signal }) => api.json<CampaignPage>('/campaigns?sort=name&limit=100', { signal }),
    staleTime: 60_000,
    select: (p) => p.data.map((c) => ({ id: c.id, name: c.name, status: c.status })),
  });
}
