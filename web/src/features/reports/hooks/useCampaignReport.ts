import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { Report } from '../../../api/types';
import { useApi } from '../../../session/context';
import { reportQuery, type ReportParams } from '../api/query';

/** GET /campaigns/{id}/reports (only once a campaign is chosen). */
export function useCampaignReport(campaignId: string, params: ReportParams) {
  const api = useApi();
  return useQuery({
    queryKey: ['reports', 'campaign', campaignId, params],
    queryFn: ({ signal }) =>
      api.json<Report>(`/campaigns/${encodeURIComponent(campaignId)}/reports${reportQuery(params)}`, { signal }),
    enabled: campaignId !== '' && params.start_date !== '' && params.end_date !== '',
    placeholderData: keepPreviousData,
  });
}
