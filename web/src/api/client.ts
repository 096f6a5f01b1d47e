// The API client: relative base /api/v1 (same origin), the Bearer token of
// the session, one renewal and retry on 401, errors as ApiError.
import { networkError, parseApiError } from './errors';

/** What the client needs of the session. */
export interface TokenSource {
  getToken(): string | null;
  refresh(): Promise<string | null>;
}

export interface ApiResult<T> {
  data: T;
  status: number;
  etag: string | null;
  headers: Headers;
}

export interface ApiClient {
  /** The Response as answered (after one renewal and retry on 401). */
  raw(path: string, init?: RequestInit): Promise<Response>;
  /** The JSON body (undefined for 204) with status and ETag; throws ApiError. */
  request<T>(path: string, init?: RequestInit): Promise<ApiResult<T>>;
  /** The JSON body; throws ApiError. */
  json<T>(path: string, init?: RequestInit): Promise<T>;
  /** The current token after a renewal when it is missing (for XHR uploads). */
  token(): string | null;
  renew(): Promise<string | null>;
  base: string;
}

export function createApiClient(session: TokenSource, opts: { fetch?: typeof fetch; base?: string } = {}): ApiClient {
  const base = opts.base ?? '/api/v1';
  const f: typeof fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function send(path: string, init: RequestInit, token: string | null): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('Accept')) headers.set('Accept', 'application/json');
    if (token) headers.set('Authorization', `Bearer ${token}`);
    try {
      return await f(`${base}${path}`, { ...init, headers, credentials: 'same-origin' });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw networkError(e);
    }
  }

  async function raw(path: string, init: RequestInit = {}): Promise<Response> {
    const used = session.getToken();
    const res = await send(path, init, used);
    if (res.status !== 401) return res;
    // Once: a token another call renewed meanwhile, or a renewal now.
    const current = session.getToken();
    const fresh = current !== null && current !== used ? current : await session.refresh();
    if (fresh === null) return res;
    return send(path, init, fresh);
  }

  async function request<T>(path: string, init: RequestInit = {}): Promise<ApiResult<T>> {
    const res = await raw(path, init);
    if (!res.ok) throw await parseApiError(res);
    const text = res.status === 204 ? '' : await res.text();
    const data = (text ? JSON.parse(text) : undefined) as T;
    return { data, status: res.status, etag: res.headers.get('ETag'), headers: res.headers };
  }

  return {
    raw,
    request,
    json: async <T,>(path: string, init?: RequestInit) => (await request<T>(path, init)).data,
    token: () => session.getToken(),
    renew: () => session.refresh(),
    base,
  };
}

/** JSON request options. */
export function jsonBody(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** The ETag of a version, as the API writes it. */
export function etagOf(version: number): string {
  return `"${version}"`;
}
