import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Asset } from '../../../api/types';
import { useApi } from '../../../session/context';

/** DELETE /campaigns/{id}/assets/{asset}. */
export function useDeleteCreative() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (a: Pick<Asset, 'id' | 'campaign_id'>) =>
      api.request<void>(`/campaigns/${encodeURIComponent(a.campaign_id)}/assets/${encodeURIComponent(a.id)}`, {
        method: 'DELETE',
      }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['creatives'] }),
  });
}
