import type { ApiClient } from './client';
import { parseApiError } from './errors';

/** The file name a Content-Disposition header gives, if any. */
export function filenameFrom(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // fall through
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain?.[1] ?? fallback;
}

/**
 * Fetches `path` with the Bearer header and saves the body as a file via
 * a blob URL (a plain link could not send the header).
 */
export async function downloadFile(api: ApiClient, path: string, fallbackName: string): Promise<string> {
  const res = await api.raw(path, { headers: { Accept: 'text/csv' } });
  if (!res.ok) throw await parseApiError(res);
  const blob = await res.blob();
  const name = filenameFrom(res.headers.get('Content-Disposition'), fallbackName);
  const url = URL.createObjectURL(blob);
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.rel = 'noopener';
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  return name;
}
