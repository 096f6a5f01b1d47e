import { useInfiniteQuery } from '@tanstack/react-query';
import type { CreativePage } from '../../../api/types';
import { useApi } from '../../../session/context';
import { creativesQuery, type CreativeFilters } from '../api/query';

/** GET /creatives, page after page by cursor. */
export function useCreatives(filters: CreativeFilters) {
  const api = useApi();
  return useInfiniteQuery({
    queryKey: ['creatives', filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      api.json<CreativePage>(`/creatives${creativesQuery(filters, pageParam)}`, { signal }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}
