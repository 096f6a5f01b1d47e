import { useMutation } from '@tanstack/react-query';
import { downloadFile } from '../../../api/download';
import { useApi } from '../../../session/context';
import { exportQuery, type ReportParams } from '../api/query';

/** GET /campaigns/{id}/reports/export?format=csv, saved as a file. */
export function useExportReport() {
  const api = useApi();
  return useMutation({
    mutationFn: ({ campaignId, params }: { campaignId: string; params: ReportParams }) =>
      downloadFile(
        api,
        `/campaigns/${encodeURIComponent(campaignId)}/reports/export${exportQuery(params)}`,
        `report-${campaignId}-${params.start_date}-${params.end_date}.csv`,
      ),
  });
}
