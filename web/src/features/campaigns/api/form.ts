import type { Campaign, CampaignBody } from '../../../api/types';

export const OBJECTIVES = ['awareness', 'reach', 'traffic', 'engagement', 'consideration', 'conversions'] as const;
export const CHANNELS = ['display', 'social', 'search', 'video', 'native'] as const;

/** The campaign form as typed (money in units, times in local time). */
export interface CampaignFormValues {
  name: string;
  brand_id: string;
  budget_total: string;
  currency: string;
  daily_cap: string;
  start: string;
  end: string;
  timezone: string;
  objectives: string[];
  channels: string[];
}

export const EMPTY_FORM: CampaignFormValues = {
  name: '',
  brand_id: '',
  budget_total: '',
  currency: 'EUR',
  daily_cap: '',
  start: '',
  end: '',
  timezone: 'UTC',
  objectives: [],
  channels: [],
};

/** Form fields by API field path (422 `errors[].field`). */
export const FIELD_OF: Record<string, keyof CampaignFormValues> = {
  name: 'name',
  brand_id: 'brand_id',
  'budget.total_micros': 'budget_total',
  'budget.currency': 'currency',
  'budget.daily_cap_micros': 'daily_cap',
  'schedule.start': 'start',
  'schedule.end': 'end',
  'schedule.timezone': 'timezone',
};

function unitsFromMicros(m: number | null | undefined): string {
  return m === null || m === undefined ? '' : String(m / 1_000_000);
}

function microsFromUnits(s: string): number | null {
  const t = s.trim().replace(',', '.');
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) ? Math.round(n * 1_000_000) : Number.NaN;
}

/** `YYYY-MM-DDTHH:MM` in local time, for <input type="datetime-local">. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(v: string): string | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function formFromCampaign(c: Campaign): CampaignFormValues {
  return {
    name: c.name,
    brand_id: c.brand_id ?? '',
    budget_total: unitsFromMicros(c.budget?.total_micros),
    currency: c.budget?.currency ?? 'EUR',
    daily_cap: unitsFromMicros(c.budget?.daily_cap_micros),
    start: toLocalInput(c.schedule?.start),
    end: toLocalInput(c.schedule?.end),
    timezone: c.schedule?.timezone ?? 'UTC',
    objectives: [...c.objectives],
    channels: [...c.channels],
  };
}

/**
 * The body to send, or the fields the browser can already tell are not
 * numbers (everything else the API checks, and its 422 says).
 */
export function bodyFromForm(v: CampaignFormValues): { body: CampaignBody } | { errors: Record<string, string[]> } {
  const total = microsFromUnits(v.budget_total);
  const cap = microsFromUnits(v.daily_cap);
  const errors: Record<string, string[]> = {};
  if (Number.isNaN(total)) errors.budget_total = ['must be a number'];
  if (Number.isNaN(cap)) errors.daily_cap = ['must be a number'];
  if (cap !== null && total === null) errors.budget_total = ['set a total budget for a daily cap'];
  if (Object.keys(errors).length > 0) return { errors };
  return {
    body: {
      name: v.name,
      brand_id: v.brand_id.trim() === '' ? null : v.brand_id,
      budget:
        total === null
          ? null
          : { total_micros: total, currency: v.currency.trim().toUpperCase(), daily_cap_micros: cap },
      schedule: {
        start: fromLocalInput(v.start),
        end: fromLocalInput(v.end),
        timezone: v.timezone.trim() || 'UTC',
      },
      objectives: v.objectives,
      channels: v.channels,
    },
  };
}
