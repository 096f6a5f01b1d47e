import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Campaign, CampaignBody, CampaignStatus } from '../../../api/types';
import { etagOf, jsonBody } from '../../../api/client';
import { useApi } from '../../../session/context';
import { campaignKeys } from '../api/keys';
import type { Versioned } from './useCampaign';

function useStore() {
  const qc = useQueryClient();
  return (c: Campaign, etag: string | null) => {
    qc.setQueryData<Versioned<Campaign>>(campaignKeys.one(c.id), { data: c, etag: etag ?? etagOf(c.version) });
    void qc.invalidateQueries({ queryKey: ['campaigns', 'list'] });
  };
}

/** POST /campaigns (a new draft). */
export function useCreateCampaign() {
  const api = useApi();
  const store = useStore();
  return useMutation({
    mutationFn: (body: CampaignBody) => api.request<Campaign>('/campaigns', jsonBody('POST', body)),
    onSuccess: (r) => store(r.data, r.etag),
  });
}

/** PUT /campaigns/{id} with If-Match. */
export function useReplaceCampaign(id: string) {
  const api = useApi();
  const store = useStore();
  return useMutation({
    mutationFn: ({ body, etag }: { body: CampaignBody; etag: string }) =>
      api.request<Campaign>(`/campaigns/${encodeURIComponent(id)}`, jsonBody('PUT', body, { 'If-Match': etag })),
    onSuccess: (r) => store(r.data, r.etag),
  });
}

/** PATCH /campaigns/{id}/status with If-Match. */
export function useSetCampaignStatus(id: string) {
  const api = useApi();
  const store = useStore();
  return useMutation({
    mutationFn: ({ status, etag }: { status: CampaignStatus; etag: string }) =>
      api.request<Campaign>(
        `/campaigns/${encodeURIComponent(id)}/status`,
        jsonBody('PATCH', { status }, { 'If-Match': etag }),
      ),
    onSuccess: (r) => store(r.data, r.etag),
  });
}

/** DELETE /campaigns/{id} with If-Match. */
export function useDeleteCampaign(id: string) {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (etag: string) =>
      api.request<void>(`/campaigns/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { 'If-Match': etag } }),
    onSuccess: () => {
      qc.removeQueries({ queryKey: campaignKeys.one(id) });
      void qc.invalidateQueries({ queryKey: ['campaigns', 'list'] });
    },
  });
}
