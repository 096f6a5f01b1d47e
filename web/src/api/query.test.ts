import { describe, expect, it } from 'vitest';
import { buildQuery } from './query';
import { campaignListQuery, NO_FILTERS } from '../features/campaigns/api/listQuery';
import { exportQuery, reportQuery, topQuery } from '../features/reports/api/query';
import { creativesQuery } from '../features/creatives/api/query';

describe('query strings', () => {
  it('leave out empty values and join lists with commas', () => {
    expect(buildQuery({ a: '', b: undefined, c: null, d: [], e: ' x y ', f: [1, 2], g: 0 })).toBe('?e=x+y&f=1%2C2&g=0');
    expect(buildQuery({})).toBe('');
  });

  it('campaign listing: filters, sort, limit, cursor, never page', () => {
    const q = campaignListQuery({
      ...NO_FILTERS,
      status: ['active', 'paused'],
      q: 'summer & sale',
      start_date: '2026-01-01',
      sort: '-budget',
      limit: 500,
      cursor: 'abc',
    });
    const p = new URLSearchParams(q);
    expect(p.get('status')).toBe('active,paused');
    expect(p.get('q')).toBe('summer & sale');
    expect(p.get('start_date')).toBe('2026-01-01');
    expect(p.has('end_date')).toBe(false);
    expect(p.get('sort')).toBe('-budget');
    expect(p.get('limit')).toBe('100');
    expect(p.get('cursor')).toBe('abc');
    expect(p.has('page')).toBe(false);
    expect(campaignListQuery({ ...NO_FILTERS, sort: 'name', limit: 20 })).toBe('?sort=name&limit=20');
  });

  it('report and export ask for the same rows', () => {
    const params = { start_date: '2026-11-01', end_date: '2026-11-07', granularity: 'hour' as const, breakdown: 'channel,event_type' as const, tz: 'Europe/Berlin' };
    const report = new URLSearchParams(reportQuery(params));
    const csv = new URLSearchParams(exportQuery(params));
    expect(csv.get('format')).toBe('csv');
    csv.delete('format');
    expect([...csv.entries()].sort()).toEqual([...report.entries()].sort());
    expect(report.get('breakdown')).toBe('channel,event_type');
    expect(reportQuery({ ...params, breakdown: '', tz: '' })).toBe('?start_date=2026-11-01&end_date=2026-11-07&granularity=hour');
  });

  it('top campaigns clamp the limit', () => {
    const p = new URLSearchParams(topQuery({ start_date: 'a', end_date: 'b', status: '', brand_id: '', sort: '-clicks', limit: 5000, tz: '' }));
    expect(p.get('limit')).toBe('1000');
    expect(p.get('sort')).toBe('-clicks');
    expect(p.has('status')).toBe(false);
  });

  it('creatives: filters and cursor', () => {
    expect(creativesQuery({ campaign_id: 'c1', type: 'png', name: 'hero' }, 'cur')).toBe(
      '?limit=100&cursor=cur&campaign_id=c1&type=png&name=hero',
    );
    expect(creativesQuery({ campaign_id: '', type: '', name: '' })).toBe('?limit=100');
  });
});
