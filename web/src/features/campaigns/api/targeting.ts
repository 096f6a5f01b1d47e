import type { Daypart, Targeting } from '../../../api/types';

export const DEVICE_TYPES = ['desktop', 'mobile', 'tablet', 'ctv'] as const;
export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** Targeting with every list present (the API may leave empty ones out). */
export function normalizeTargeting(t: Targeting): Required<Targeting> {
  return {
    countries: t.countries ?? [],
    device_types: t.device_types ?? [],
    audience_segments: t.audience_segments ?? [],
    dayparting: t.dayparting ?? [],
    frequency_cap: t.frequency_cap ?? null,
  };
}

/** Country codes from free text: `de, FR  us` → DE, FR, US (order kept, no repeats). */
export function parseCodes(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[\s,;]+/)) {
    const c = raw.trim().toUpperCase();
    if (c && !out.includes(c)) out.push(c);
  }
  return out;
}

/** Segment ids, one per line (or comma-separated). */
export function parseSegments(text: string): string[] {
  return text
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function newDaypart(): Daypart {
  return { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00' };
}
