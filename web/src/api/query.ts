/** A query-string value; empty ones are left out. */
export type QueryValue = string | number | boolean | null | undefined | readonly (string | number)[];

/**
 * `?a=1&b=x%20y` from `params` in their order, leaving out undefined, null,
 * '' and empty lists; lists are joined with commas (the API's `status=a,b`).
 * '' when nothing is left.
 */
export function buildQuery(params: Record<string, QueryValue>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      sp.append(k, v.join(','));
      continue;
    }
    const s = String(v as string | number | boolean).trim();
    if (s === '') continue;
    sp.append(k, s);
  }
  const q = sp.toString();
  return q ? `?${q}` : '';
}
