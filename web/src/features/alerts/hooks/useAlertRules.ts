import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { AlertRulePage } from '../../../api/types';
import { buildQuery } from '../../../api/query';
import { useApi } from '../../../session/context';
import { alertKeys } from '../api/keys';

/** GET /alert-rules: one page (in id order) from `cursor`. */
export function useAlertRules(cursor: string | undefined, limit = 50) {
  const api = useApi();
  return useQuery({
    queryKey: [...alertKeys.rules(cursor), limit],
    queryFn: ({ signal }) => api.json<AlertRulePage>(`/alert-rules${buildQuery({ limit, cursor })}`, { signal }),
    placeholderData: keepPreviousData,
  });
}
