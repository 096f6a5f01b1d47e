// A fetch stub for unit and component tests: routes by method and path,
// records every call.
import { vi } from 'vitest';

export interface Call {
  method: string;
  url: string;
  headers: Headers;
  body: string | null;
}

type Handler = (call: Call) => Response | Promise<Response>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function apiError(
  status: number,
  code: string,
  message: string,
  errors: { field: string; message: string }[] = [],
  headers: Record<string, string> = {},
): Response {
  return json(status, { error: { code, message, errors } }, headers);
}

export function stubFetch() {
  const routes: { method: string; path: string | RegExp; handler: Handler }[] = [];
  const calls: Call[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method ?? 'GET').toUpperCase();
    const call: Call = {
      method,
      url,
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? init.body : null,
    };
    calls.push(call);
    const path = url.split('?')[0] ?? url;
    // Later routes win, so a test can override a default.
    for (let i = routes.length - 1; i >= 0; i--) {
      const r = routes[i]!;
      const hit = typeof r.path === 'string' ? r.path === path : r.path.test(path);
      if (r.method === method && hit) return r.handler(call);
    }
    return json(404, { error: { code: 'not_found', message: `no stub for ${method} ${url}`, errors: [] } });
  });
  return {
    fetch: fetch as unknown as typeof globalThis.fetch,
    calls,
    on(method: string, path: string | RegExp, handler: Handler | Response) {
      routes.push({
        method,
        path,
        handler: typeof handler === 'function' ? handler : () => handler.clone(),
      });
      return this;
    },
  };
}
