import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { AlertRule, AlertRuleBody } from '../../../api/types';
import { etagOf, jsonBody } from '../../../api/client';
import { useApi } from '../../../session/context';
import { alertKeys } from '../api/keys';
import type { Versioned } from './useAlertRule';

function useStore() {
  const qc = useQueryClient();
  return (r: AlertRule, etag: string | null) => {
    qc.setQueryData<Versioned<AlertRule>>(alertKeys.rule(r.id), { data: r, etag: etag ?? etagOf(r.version) });
    void qc.invalidateQueries({ queryKey: ['alerts', 'rules'] });
  };
}

/** POST /alert-rules. */
export function useCreateRule() {
  const api = useApi();
  const store = useStore();
  return useMutation({
    mutationFn: (body: AlertRuleBody) => api.request<AlertRule>('/alert-rules', jsonBody('POST', body)),
    onSuccess: (r) => store(r.data, r.etag),
  });
}

/** PUT /alert-rules/{id} with If-Match. */
export function useReplaceRule(id: string) {
  const api = useApi();
  const store = useStore();
  return useMutation({
    mutationFn: ({ body, etag }: { body: AlertRuleBody; etag: string }) =>
      api.request<AlertRule>(`/alert-rules/${encodeURIComponent(id)}`, jsonBody('PUT', body, { 'If-Match': etag })),
    onSuccess: (r) => store(r.data, r.etag),
  });
}

/** DELETE /alert-rules/{id} with If-Match. */
export function useDeleteRule(id: string) {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (etag: string) =>
      api.request<void>(`/alert-rules/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { 'If-Match': etag } }),
    onSuccess: () => {
      qc.removeQueries({ queryKey: alertKeys.rule(id) });
      void qc.invalidateQueries({ queryKey: ['alerts', 'rules'] });
    },
  });
}
