import { describe, expect, it, vi } from 'vitest';
import { createApiClient, type TokenSource } from './client';
import { ApiError, errorFromBody, errorsUnder, fieldErrors } from './errors';
import { apiError, json, stubFetch } from '../test/http';

function tokens(first: string | null, renewed: string | null): TokenSource & { refresh: ReturnType<typeof vi.fn> } {
  let t = first;
  const refresh = vi.fn(async () => {
    t = renewed;
    return renewed;
  });
  return { getToken: () => t, refresh };
}

describe('API client', () => {
  it('sends the Bearer token to the relative base', async () => {
    const http = stubFetch().on('GET', '/api/v1/campaigns', json(200, { data: [] }));
    const api = createApiClient(tokens('t1', null), { fetch: http.fetch });
    await api.json('/campaigns');
    expect(http.calls[0]!.url).toBe('/api/v1/campaigns');
    expect(http.calls[0]!.headers.get('Authorization')).toBe('Bearer t1');
  });

  it('on 401 renews once and retries the call with the new token', async () => {
    const http = stubFetch().on('GET', '/api/v1/users', (c) =>
      c.headers.get('Authorization') === 'Bearer t2' ? json(200, { data: ['ok'] }) : apiError(401, 'token_expired', 'expired'),
    );
    const session = tokens('t1', 't2');
    const api = createApiClient(session, { fetch: http.fetch });
    expect(await api.json('/users')).toEqual({ data: ['ok'] });
    expect(session.refresh).toHaveBeenCalledTimes(1);
    expect(http.calls.map((c) => c.headers.get('Authorization'))).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('retries only once: a second 401 is the answer', async () => {
    const http = stubFetch().on('GET', '/api/v1/users', apiError(401, 'invalid_token', 'bad'));
    const session = tokens('t1', 't2');
    const api = createApiClient(session, { fetch: http.fetch });
    const err = await api.json('/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(http.calls).toHaveLength(2);
    expect(session.refresh).toHaveBeenCalledTimes(1);
  });

  it('does not retry when the session cannot be renewed', async () => {
    const http = stubFetch().on('GET', '/api/v1/users', apiError(401, 'token_expired', 'expired'));
    const api = createApiClient(tokens('t1', null), { fetch: http.fetch });
    await expect(api.json('/users')).rejects.toMatchObject({ status: 401, code: 'token_expired' });
    expect(http.calls).toHaveLength(1);
  });

  it('returns the ETag and undefined for 204', async () => {
    const http = stubFetch()
      .on('GET', '/api/v1/campaigns/1', json(200, { id: '1' }, { ETag: '"7"' }))
      .on('DELETE', '/api/v1/campaigns/1', new Response(null, { status: 204 }));
    const api = createApiClient(tokens('t', null), { fetch: http.fetch });
    expect((await api.request('/campaigns/1')).etag).toBe('"7"');
    expect((await api.request('/campaigns/1', { method: 'DELETE' })).data).toBeUndefined();
  });

  it('turns a failed network into ApiError status 0', async () => {
    const api = createApiClient(tokens('t', null), {
      fetch: () => Promise.reject(new TypeError('Failed to fetch')),
    });
    await expect(api.json('/x')).rejects.toMatchObject({ status: 0, code: 'network' });
  });
});

describe('error parsing', () => {
  const noHeaders = () => null;

  it('reads code, message and field problems of a 422', () => {
    const e = errorFromBody(
      422,
      JSON.stringify({
        error: {
          code: 'validation_failed',
          message: 'the request has invalid fields',
          errors: [
            { field: 'name', message: 'must be 1 to 200 characters' },
            { field: 'objectives[1]', message: 'repeated' },
            { field: 'budget.currency', message: 'must be an ISO 4217 code like EUR' },
          ],
        },
      }),
      noHeaders,
    );
    expect(e.status).toBe(422);
    expect(e.code).toBe('validation_failed');
    expect(fieldErrors(e)).toEqual({
      name: ['must be 1 to 200 characters'],
      'objectives[1]': ['repeated'],
      'budget.currency': ['must be an ISO 4217 code like EUR'],
    });
    expect(errorsUnder(fieldErrors(e), 'objectives')).toEqual(['[1]: repeated']);
    expect(errorsUnder(fieldErrors(e), 'budget')).toEqual(['currency: must be an ISO 4217 code like EUR']);
  });

  it('reads Retry-After of a 429 and the current ETag of a 412', () => {
    const h = (m: Record<string, string>) => (n: string) => m[n] ?? null;
    const tooMany = errorFromBody(429, '{"error":{"code":"rate_limited","message":"slow down","errors":[]}}', h({ 'Retry-After': '7' }));
    expect(tooMany.retryAfter).toBe(7);
    const stale = errorFromBody(412, '{"error":{"code":"precondition_failed","message":"changed","errors":[]}}', h({ ETag: '"9"' }));
    expect(stale.etag).toBe('"9"');
    expect(stale.code).toBe('precondition_failed');
  });

  it('survives a body that is not the API error shape', () => {
    const e = errorFromBody(502, '<html>Bad gateway</html>', noHeaders);
    expect(e.code).toBe('http_502');
    expect(e.message).toMatch(/502/);
    expect(e.errors).toEqual([]);
    const odd = errorFromBody(400, '{"error":{"code":"bad_request","errors":[{"field":1},{"field":"x","message":"y"}]}}', noHeaders);
    expect(odd.errors).toEqual([{ field: 'x', message: 'y' }]);
  });
});
