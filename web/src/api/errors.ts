import type { FieldProblem } from './types';

/** An error the API answered (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors: FieldProblem[];
  /** Seconds, from Retry-After (429, 503). */
  readonly retryAfter: number | null;
  /** The current ETag a 412 names. */
  readonly etag: string | null;

  constructor(
    status: number,
    code: string,
    message: string,
    errors: FieldProblem[] = [],
    retryAfter: number | null = null,
    etag: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.errors = errors;
    this.retryAfter = retryAfter;
    this.etag = etag;
  }
}

function isProblem(v: unknown): v is FieldProblem {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as FieldProblem).field === 'string' &&
    typeof (v as FieldProblem).message === 'string'
  );
}

/**
 * The ApiError of a failed answer, from its status, body text and headers.
 * Reads `{"error":{"code","message","errors":[{"field","message"}]}}`; a
 * body of another shape (a proxy's HTML page) still gives an error with a
 * generic code.
 */
export function errorFromBody(
  status: number,
  text: string,
  header: (name: string) => string | null,
): ApiError {
  let code = `http_${status}`;
  let message = defaultMessage(status);
  let errors: FieldProblem[] = [];
  try {
    const body: unknown = JSON.parse(text);
    const e = (body as { error?: unknown } | null)?.error;
    if (typeof e === 'object' && e !== null) {
      const d = e as { code?: unknown; message?: unknown; errors?: unknown };
      if (typeof d.code === 'string') code = d.code;
      if (typeof d.message === 'string' && d.message) message = d.message;
      if (Array.isArray(d.errors)) errors = d.errors.filter(isProblem);
    }
  } catch {
    // not JSON: keep the generic code and message
  }
  const ra = header('Retry-After');
  const seconds = ra !== null && /^\d+$/.test(ra.trim()) ? Number(ra.trim()) : null;
  return new ApiError(status, code, message, errors, seconds, header('ETag'));
}

/** The ApiError of a failed fetch Response. */
export async function parseApiError(res: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // body unreadable
  }
  return errorFromBody(res.status, text, (n) => res.headers.get(n));
}

export function networkError(cause: unknown): ApiError {
  const e = new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  (e as { cause?: unknown }).cause = cause;
  return e;
}

function defaultMessage(status: number): string {
  switch (status) {
    case 401:
      return 'You are not signed in.';
    case 403:
      return 'Your role does not allow this.';
    case 404:
      return 'Not found.';
    case 412:
      return 'Someone else changed this since you loaded it.';
    case 429:
      return 'Too many requests.';
    case 503:
      return 'The service is temporarily unavailable.';
    default:
      return `The request failed (HTTP ${status}).`;
  }
}

/** Text for people: the API's message, with what to do for some codes. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429) {
      return e.retryAfter !== null
        ? `Too many requests. Try again in ${e.retryAfter} s.`
        : 'Too many requests. Try again shortly.';
    }
    if (e.status === 503) return 'The service is temporarily unavailable. Try again in a moment.';
    if (e.status === 403) return `Not allowed: ${e.message}`;
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return 'Something went wrong.';
}

/** The 422 field problems of an error by field path (`budget.currency`, `objectives[1]`). */
export function fieldErrors(e: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!(e instanceof ApiError)) return out;
  for (const p of e.errors) {
    (out[p.field] ??= []).push(p.message);
  }
  return out;
}

/** Messages for `field` and anything below it (`field.x`, `field[0]`). */
export function errorsUnder(errors: Record<string, string[]>, field: string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(errors)) {
    if (k === field) out.push(...v);
    else if (k.startsWith(`${field}[`) || k.startsWith(`${field}.`)) {
      out.push(...v.map((m) => `${k.slice(field.length).replace(/^\./, '')}: ${m}`));
    }
  }
  return out;
}
