import { useQuery } from '@tanstack/react-query';
import type { Realtime } from '../../../api/types';
import { useApi } from '../../../session/context';
import { liveKeys } from '../api/keys';

/** GET /campaigns/{id}/realtime: the first picture before the stream's updates. */
export function useRealtime(id: string) {
  const api = useApi();
  return useQuery({
    queryKey: liveKeys.realtime(id),
    queryFn: ({ signal }) => api.json<Realtime>(`/campaigns/${encodeURIComponent(id)}/realtime`, { signal }),
    staleTime: Infinity,
  });
}
