import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AlertChannel, AlertChannelBody, AlertChannelList } from '../../../api/types';
import { jsonBody } from '../../../api/client';
import { useApi } from '../../../session/context';
import { alertKeys } from '../api/keys';

/** GET /alert-channels (oldest first). */
export function useChannels() {
  const api = useApi();
  return useQuery({
    queryKey: alertKeys.channels,
    queryFn: ({ signal }) => api.json<AlertChannelList>('/alert-channels', { signal }),
  });
}

/** POST /alert-channels: a webhook's secret is in this answer only. */
export function useCreateChannel() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: AlertChannelBody) => api.json<AlertChannel>('/alert-channels', jsonBody('POST', body)),
    onSuccess: () => void qc.invalidateQueries({ queryKey: alertKeys.channels }),
  });
}

/** DELETE /alert-channels/{id} (409 channel_in_use while a rule notifies it). */
export function useDeleteChannel() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.request<void>(`/alert-channels/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: alertKeys.channels }),
  });
}

/** POST /alert-channels/{id}/rotate-secret: the new secret, this once. */
export function useRotateSecret() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      api.json<AlertChannel>(`/alert-channels/${encodeURIComponent(id)}/rotate-secret`, { method: 'POST' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: alertKeys.channels }),
  });
}
