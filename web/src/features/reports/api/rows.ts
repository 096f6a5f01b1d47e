import type { ReportRow } from '../../../api/types';

export interface PeriodSums {
  times: number[];
  impressions: number[];
  clicks: number[];
  conversions: number[];
}

/** Rows summed per period (breakdowns collapse), in time order, for a chart. */
export function sumByPeriod(rows: ReportRow[]): PeriodSums {
  const by = new Map<number, { i: number; c: number; v: number }>();
  for (const r of rows) {
    if (!r.period) continue;
    const t = Date.parse(r.period) / 1000;
    if (Number.isNaN(t)) continue;
    const s = by.get(t) ?? { i: 0, c: 0, v: 0 };
    s.i += r.impressions;
    s.c += r.clicks;
    s.v += r.conversions;
    by.set(t, s);
  }
  const times = [...by.keys()].sort((a, b) => a - b);
  return {
    times,
    impressions: times.map((t) => by.get(t)?.i ?? 0),
    clicks: times.map((t) => by.get(t)?.c ?? 0),
    conversions: times.map((t) => by.get(t)?.v ?? 0),
  };
}

/** A copy of `rows` sorted by `key` (nulls last), descending when `desc`. */
export function sortRows<T>(rows: T[], key: keyof T, desc: boolean): T[] {
  return [...rows].sort((a, b) => {
    const x = a[key] as unknown;
    const y = b[key] as unknown;
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return desc ? -cmp : cmp;
  });
}
