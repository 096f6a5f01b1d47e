import { describe, expect, it } from 'vitest';
import type { ReportRow } from '../../../api/types';
import { fillFor, sumByPeriod } from './rows';

const row = (period: string, impressions: number): ReportRow =>
  ({ period, impressions, clicks: 1, conversions: 0 }) as unknown as ReportRow;
const t = (s: string) => Date.parse(s) / 1000;

describe('report chart periods', () => {
  it('sums breakdown rows per period', () => {
    const s = sumByPeriod([row('2026-01-02', 3), row('2026-01-02', 4), row('2026-01-01', 1)]);
    expect(s.times).toEqual([t('2026-01-01'), t('2026-01-02')]);
    expect(s.impressions).toEqual([1, 7]);
  });

  it('shows every day of the range, quiet ones as zero', () => {
    const s = sumByPeriod([row('2026-01-02', 3), row('2026-01-05', 2)], fillFor('day', '2026-01-01', '2026-01-06'));
    expect(s.times).toHaveLength(6);
    expect(s.impressions).toEqual([0, 3, 0, 0, 2, 0]);
    expect(s.clicks).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it('fills the hours between the first and the last listed one', () => {
    const s = sumByPeriod([row('2026-01-01T10:00:00Z', 5), row('2026-01-01T13:00:00Z', 1)], fillFor('hour', '2026-01-01', '2026-01-01'));
    expect(s.impressions).toEqual([5, 0, 0, 1]);
  });

  it('leaves totals alone', () => {
    expect(fillFor('total', '2026-01-01', '2026-01-02')).toBeUndefined();
  });
});
