import type { ReportRow } from '../../../api/types';

export interface PeriodSums {
  times: number[];
  impressions: number[];
  clicks: number[];
  conversions: number[];
}

/**
 * The periods a chart should show: the API lists only periods with events,
 * so a line between two of them would hide the quiet ones in between.
 * Days: every day of the range; hours: every hour from the first to the
 * last listed one (the range's local midnight is not known here).
 */
export interface Fill {
  step: number;
  from?: number;
  to?: number;
}

export function fillFor(granularity: string, startDate: string, endDate: string): Fill | undefined {
  if (granularity === 'day') return { step: 86_400, from: Date.parse(startDate) / 1000, to: Date.parse(endDate) / 1000 };
  if (granularity === 'hour') return { step: 3_600 };
  return undefined;
}

/** Rows summed per period (breakdowns collapse), in time order, for a chart; gaps filled with zeros when asked. */
export function sumByPeriod(rows: ReportRow[], fill?: Fill): PeriodSums {
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
  let times = [...by.keys()].sort((a, b) => a - b);
  if (fill && fill.step > 0) {
    const from = Number.isFinite(fill.from) ? Math.min(fill.from!, times[0] ?? fill.from!) : times[0];
    const to = Number.isFinite(fill.to) ? Math.max(fill.to!, times[times.length - 1] ?? fill.to!) : times[times.length - 1];
    if (from !== undefined && to !== undefined && (to - from) / fill.step <= 10_000) {
      const all = new Set(times);
      for (let t = from; t <= to; t += fill.step) all.add(t);
      times = [...all].sort((a, b) => a - b);
    }
  }
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
