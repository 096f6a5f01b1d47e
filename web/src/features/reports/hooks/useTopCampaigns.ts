import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { Top } from '../../../api/types';
import { useApi } from '../../../session/context';
import { topQuery, type TopParams } from '../api/query';

/** GET /reports/campaigns: the tenant's campaigns ranked. */
export function useTopCampaigns(params: TopParams) {
  const api = useApi();
  return useQuery({
    queryKey: ['reports', 'top', params],
    queryFn: ({ signal }) => api.json<Top>(`/reports/campaigns${topQuery(params)}`, { signal }),
    enabled: params.start_date !== '' && params.end_date !== '',
    placeholderData: keepPreviousData,
  });
}
