import { useQuery } from '@tanstack/react-query';
import type { AlertRule } from '../../../api/types';
import { etagOf } from '../../../api/client';
import { useApi } from '../../../session/context';
import { alertKeys } from '../api/keys';

export interface Versioned<T> {
  data: T;
  /** What to send back in If-Match. */
  etag: string;
}

/** GET /alert-rules/{id}, with its ETag. */
export function useAlertRule(id: string) {
  const api = useApi();
  return useQuery({
    queryKey: alertKeys.rule(id),
    queryFn: async ({ signal }): Promise<Versioned<AlertRule>> => {
      const r = await api.request<AlertRule>(`/alert-rules/${encodeURIComponent(id)}`, { signal });
      return { data: r.data, etag: r.etag ?? etagOf(r.data.version) };
    },
  });
}
