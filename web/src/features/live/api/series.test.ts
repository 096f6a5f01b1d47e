import { describe, expect, it } from 'vitest';
import { densify, SPAN_SECONDS, STEP_SECONDS } from './series';

const at = (iso: string) => Date.parse(iso) / 1000;
const point = (t: string, impressions: number) => ({ t, impressions, clicks: 0, conversions: 0, spend_micros: 0, revenue_micros: 0 });

describe('live series densify', () => {
  it('fills the quiet buckets of the last hour with zeros, ending now', () => {
    const now = at('2026-01-01T12:00:07Z');
    const d = densify([point('2026-01-01T11:59:50Z', 3), point('2026-01-01T11:59:40Z', 1)], now);
    expect(d.times).toHaveLength(SPAN_SECONDS / STEP_SECONDS);
    expect(d.times.at(-1)).toBe(at('2026-01-01T12:00:05Z'));
    expect(d.times[1]! - d.times[0]!).toBe(STEP_SECONDS);
    expect(d.impressions.slice(-6)).toEqual([1, 0, 3, 0, 0, 0]);
    expect(d.impressions.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('keeps a point newer than the clock', () => {
    const d = densify([point('2026-01-01T12:00:30Z', 2)], at('2026-01-01T12:00:00Z'));
    expect(d.times.at(-1)).toBe(at('2026-01-01T12:00:30Z'));
    expect(d.impressions.at(-1)).toBe(2);
  });
});
