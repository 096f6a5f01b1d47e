import type { Realtime } from '../../../api/types';

export type RealtimePoint = Realtime['series'][number];

export const STEP_SECONDS = 5;
export const SPAN_SECONDS = 3600;

export interface DenseSeries {
  /** Seconds since the epoch, every STEP_SECONDS. */
  times: number[];
  impressions: number[];
  clicks: number[];
  conversions: number[];
}

/**
 * The API lists only the 5-second buckets that had events. A chart of
 * those alone would draw a line across quiet minutes as if events had
 * kept coming; this fills every bucket of the hour up to `nowSeconds`
 * (or the newest point, if later) with zeros where nothing happened.
 */
export function densify(series: readonly RealtimePoint[], nowSeconds: number): DenseSeries {
  const byTime = new Map<number, RealtimePoint>();
  let newest = Math.floor(nowSeconds / STEP_SECONDS) * STEP_SECONDS;
  for (const p of series) {
    const t = Math.floor(Date.parse(p.t) / 1000 / STEP_SECONDS) * STEP_SECONDS;
    if (!Number.isFinite(t)) continue;
    byTime.set(t, p);
    if (t > newest) newest = t;
  }
  const out: DenseSeries = { times: [], impressions: [], clicks: [], conversions: [] };
  for (let t = newest - SPAN_SECONDS + STEP_SECONDS; t <= newest; t += STEP_SECONDS) {
    const p = byTime.get(t);
    out.times.push(t);
    out.impressions.push(p?.impressions ?? 0);
    out.clicks.push(p?.clicks ?? 0);
    out.conversions.push(p?.conversions ?? 0);
  }
  return out;
}
