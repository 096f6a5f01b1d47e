import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Asset } from '../../../api/types';
import { uploadFile, type UploadProgress } from '../../../api/upload';
import { useApi } from '../../../session/context';

/** POST /campaigns/{id}/assets (multipart `file`), with upload progress. */
export function useUploadCreative() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({
      campaignId,
      file,
      onProgress,
    }: {
      campaignId: string;
      file: File;
      onProgress: (p: UploadProgress) => void;
    }) => uploadFile<Asset>(api, `/campaigns/${encodeURIComponent(campaignId)}/assets`, file, { onProgress }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['creatives'] }),
  });
}
