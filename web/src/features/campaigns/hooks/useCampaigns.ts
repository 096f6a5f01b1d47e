import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { CampaignPage } from '../../../api/types';
import { useApi } from '../../../session/context';
import { campaignKeys } from '../api/keys';
import { campaignListQuery, type CampaignListParams } from '../api/listQuery';

/** GET /campaigns: one page of the filtered, sorted listing. */
export function useCampaigns(params: CampaignListParams) {
  const api = useApi();
  return useQuery({
    queryKey: campaignKeys.list(params),
    queryFn: ({ signal }) => api.json<CampaignPage>(`/campaigns${campaignListQuery(params)}`, { signal }),
    placeholderData: keepPreviousData,
  });
}
