import type { Metrics } from '../../../api/types';
import { formatInt, formatMicros, formatPercent, formatRatio } from '../../../lib/format';

export interface MetricColumn {
  key: keyof Metrics | 'unique_users';
  label: string;
  format: (v: number | null | undefined) => string;
}

/** The metric columns of report tables, in order. */
export const METRIC_COLUMNS: MetricColumn[] = [
  { key: 'impressions', label: 'Impressions', format: formatInt },
  { key: 'clicks', label: 'Clicks', format: formatInt },
  { key: 'conversions', label: 'Conversions', format: formatInt },
  { key: 'spend_micros', label: 'Spend', format: (v) => formatMicros(v) },
  { key: 'revenue_micros', label: 'Revenue', format: (v) => formatMicros(v) },
  { key: 'ctr', label: 'CTR', format: formatPercent },
  { key: 'cpc_micros', label: 'CPC', format: (v) => formatMicros(v) },
  { key: 'cpm_micros', label: 'CPM', format: (v) => formatMicros(v) },
  { key: 'cpa_micros', label: 'CPA', format: (v) => formatMicros(v) },
  { key: 'roas', label: 'ROAS', format: formatRatio },
  { key: 'unique_users', label: 'Unique users', format: formatInt },
];
