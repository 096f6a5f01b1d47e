import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Targeting } from '../../../api/types';
import { jsonBody } from '../../../api/client';
import { useApi } from '../../../session/context';
import { campaignKeys } from '../api/keys';
import type { Versioned } from './useCampaign';

/** GET /campaigns/{id}/targeting (the ETag is the campaign's). */
export function useTargeting(id: string) {
  const api = useApi();
  return useQuery({
    queryKey: campaignKeys.targeting(id),
    queryFn: async ({ signal }): Promise<Versioned<Targeting>> => {
      const r = await api.request<Targeting>(`/campaigns/${encodeURIComponent(id)}/targeting`, { signal });
      return { data: r.data, etag: r.etag ?? '' };
    },
  });
}

/** PUT /campaigns/{id}/targeting with If-Match. */
export function useReplaceTargeting(id: string) {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ targeting, etag }: { targeting: Targeting; etag: string }) =>
      api.request<Targeting>(
        `/campaigns/${encodeURIComponent(id)}/targeting`,
        jsonBody('PUT', targeting, { 'If-Match': etag }),
      ),
    onSuccess: (r) => {
      if (r.etag) qc.setQueryData<Versioned<Targeting>>(campaignKeys.targeting(id), { data: r.data, etag: r.etag });
      // The campaign's version moved with it.
      void qc.invalidateQueries({ queryKey: campaignKeys.one(id) });
    },
  });
}
