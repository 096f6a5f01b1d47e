import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { KeyCreated, KeyList, NewKey } from '../../../api/types';
import { jsonBody } from '../../../api/client';
import { useApi } from '../../../session/context';

const KEY = ['admin', 'ingest-keys'] as const;

/** GET /ingest-keys. */
export function useIngestKeys() {
  const api = useApi();
  return useQuery({ queryKey: KEY, queryFn: ({ signal }) => api.json<KeyList>('/ingest-keys', { signal }) });
}

/** POST /ingest-keys: the only answer that carries the secret. */
export function useCreateIngestKey() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (k: NewKey) => api.json<KeyCreated>('/ingest-keys', jsonBody('POST', k)),
    onSuccess: () => void qc.invalidateQueries({ queryKey: KEY }),
  });
}

/** DELETE /ingest-keys/{id}. */
export function useRevokeIngestKey() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.request<void>(`/ingest-keys/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: KEY }),
  });
}
