const int = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatInt(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : int.format(n);
}

/** Micros as currency units, with 2 decimals. */
export function formatMicros(micros: number | null | undefined, currency?: string | null): string {
  if (micros === null || micros === undefined) return '—';
  const units = micros / 1_000_000;
  if (currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(units);
    } catch {
      // unknown code
    }
  }
  return money.format(units);
}

export function formatPercent(r: number | null | undefined): string {
  return r === null || r === undefined ? '—' : `${dec.format(r * 100)} %`;
}

export function formatRatio(r: number | null | undefined): string {
  return r === null || r === undefined ? '—' : dec.format(r);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** YYYY-MM-DD of a local date. */
export function isoDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function daysAgo(n: number, from = new Date()): string {
  const d = new Date(from);
  d.setDate(d.getDate() - n);
  return isoDay(d);
}

/** IANA zones this browser knows, for pickers. */
export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : ['UTC'];
  } catch {
    return ['UTC'];
  }
}
