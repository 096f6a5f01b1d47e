import { buildQuery } from '../../../api/query';

export type Granularity = 'hour' | 'day' | 'total';
export type Breakdown = '' | 'channel' | 'event_type' | 'channel,event_type';

export interface ReportParams {
  start_date: string;
  end_date: string;
  granularity: Granularity;
  breakdown: Breakdown;
  /** IANA zone; '' for the campaign's own. */
  tz: string;
}

/** The query of `GET /campaigns/{id}/reports`. */
export function reportQuery(p: ReportParams): string {
  return buildQuery({
    start_date: p.start_date,
    end_date: p.end_date,
    granularity: p.granularity,
    breakdown: p.breakdown,
    tz: p.tz,
  });
}

/** The same rows as CSV (`/reports/export`): the same query plus `format=csv`. */
export function exportQuery(p: ReportParams): string {
  return buildQuery({
    format: 'csv',
    start_date: p.start_date,
    end_date: p.end_date,
    granularity: p.granularity,
    breakdown: p.breakdown,
    tz: p.tz,
  });
}

/** Columns the API ranks by (`sort`). */
export const SERVER_SORTS = ['spend', 'revenue', 'impressions', 'clicks', 'conversions'] as const;
export type ServerSort = (typeof SERVER_SORTS)[number];

export interface TopParams {
  start_date: string;
  end_date: string;
  status: string;
  brand_id: string;
  /** `-spend` for the highest first. */
  sort: ServerSort | `-${ServerSort}`;
  limit: number;
  tz: string;
}

/** The query of `GET /reports/campaigns`. */
export function topQuery(p: TopParams): string {
  return buildQuery({
    start_date: p.start_date,
    end_date: p.end_date,
    status: p.status,
    brand_id: p.brand_id,
    sort: p.sort,
    limit: Math.min(1000, Math.max(1, Math.trunc(p.limit))),
    tz: p.tz,
  });
}
