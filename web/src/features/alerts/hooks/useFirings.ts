import { useInfiniteQuery } from '@tanstack/react-query';
import type { AlertFiringPage } from '../../../api/types';
import { buildQuery } from '../../../api/query';
import { useApi } from '../../../session/context';
import { alertKeys } from '../api/keys';

/** GET /alert-rules/{id}/firings, newest first, page after page by cursor. */
export function useFirings(ruleId: string, limit = 20) {
  const api = useApi();
  return useInfiniteQuery({
    queryKey: [...alertKeys.firings(ruleId), limit],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      api.json<AlertFiringPage>(
        `/alert-rules/${encodeURIComponent(ruleId)}/firings${buildQuery({ limit, cursor: pageParam })}`,
        { signal },
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}
