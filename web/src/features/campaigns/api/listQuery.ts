import type { CampaignStatus } from '../../../api/types';
import { buildQuery } from '../../../api/query';

export const SORT_KEYS = ['created_at', 'updated_at', 'name', 'budget'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
/** `name` ascending, `-name` descending (the API's `sort`). */
export type Sort = SortKey | `-${SortKey}`;

export interface CampaignFilters {
  status: CampaignStatus[];
  brand_id: string;
  q: string;
  start_date: string;
  end_date: string;
}

export const NO_FILTERS: CampaignFilters = { status: [], brand_id: '', q: '', start_date: '', end_date: '' };

export interface CampaignListParams extends CampaignFilters {
  sort: Sort;
  limit: number;
  /** `next_cursor` of the previous page; none for the first. */
  cursor?: string | undefined;
}

/**
 * The query of `GET /campaigns`: comma-separated statuses, the filters that
 * are set, the sort, the limit (1 to 100) and the cursor. Pages go by
 * cursor, so `page` is never sent (the API refuses both at once).
 */
export function campaignListQuery(p: CampaignListParams): string {
  return buildQuery({
    status: p.status,
    brand_id: p.brand_id,
    q: p.q,
    start_date: p.start_date,
    end_date: p.end_date,
    sort: p.sort,
    limit: Math.min(100, Math.max(1, Math.trunc(p.limit))),
    cursor: p.cursor,
  });
}
