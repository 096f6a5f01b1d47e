import { useQuery } from '@tanstack/react-query';
import type { Campaign } from '../../../api/types';
import { etagOf } from '../../../api/client';
import { useApi } from '../../../session/context';
import { campaignKeys } from '../api/keys';

export interface Versioned<T> {
  data: T;
  /** What to send back in If-Match. */
  etag: string;
}

/** GET /campaigns/{id}, with its ETag. */
export function useCampaign(id: string) {
  const api = useApi();
  return useQuery({
    queryKey: campaignKeys.one(id),
    queryFn: async ({ signal }): Promise<Versioned<Campaign>> => {
      const r = await api.request<Campaign>(`/campaigns/${encodeURIComponent(id)}`, { signal });
      return { data: r.data, etag: r.etag ?? etagOf(r.data.version) };
    },
  });
}
