import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AlertDelivery, AlertDeliveryDetail, AlertDeliveryPage, AlertDeliveryStatus } from '../../../api/types';
import { buildQuery } from '../../../api/query';
import { useApi } from '../../../session/context';
import { alertKeys } from '../api/keys';

/** GET /alert-deliveries?rule_id=&status=, newest first, page after page by cursor. */
export function useDeliveries(ruleId: string, status: AlertDeliveryStatus | '', limit = 20) {
  const api = useApi();
  return useInfiniteQuery({
    queryKey: [...alertKeys.deliveries(ruleId, status), limit],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      api.json<AlertDeliveryPage>(
        `/alert-deliveries${buildQuery({ rule_id: ruleId, status, limit, cursor: pageParam })}`,
        { signal },
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    // The table stays while another status loads.
    placeholderData: keepPreviousData,
  });
}

/** GET /alert-deliveries/{id}: the delivery and every attempt. */
export function useDelivery(id: string) {
  const api = useApi();
  return useQuery({
    queryKey: alertKeys.delivery(id),
    queryFn: ({ signal }) => api.json<AlertDeliveryDetail>(`/alert-deliveries/${encodeURIComponent(id)}`, { signal }),
  });
}

/** POST /alert-deliveries/{id}/replay: a dead letter pending again (409 not_dead otherwise). */
export function useReplayDelivery() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      api.json<AlertDelivery>(`/alert-deliveries/${encodeURIComponent(id)}/replay`, { method: 'POST' }),
    onSuccess: (d) => {
      void qc.invalidateQueries({ queryKey: ['alerts', 'deliveries'] });
      void qc.invalidateQueries({ queryKey: alertKeys.delivery(d.id) });
    },
  });
}
