import { buildQuery } from '../../../api/query';
import type { CreativeType } from '../../../api/types';

export interface CreativeFilters {
  campaign_id: string;
  type: CreativeType | '';
  name: string;
}

export const PAGE_SIZE = 100;

/** The query of `GET /creatives` (limit 1..200, newest first). */
export function creativesQuery(f: CreativeFilters, cursor?: string, limit = PAGE_SIZE): string {
  return buildQuery({
    limit: Math.min(200, Math.max(1, limit)),
    cursor,
    campaign_id: f.campaign_id,
    type: f.type,
    name: f.name,
  });
}
