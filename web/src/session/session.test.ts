import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionManager, type ChannelLike, type LockManagerLike } from './session';
import { apiError, json, stubFetch } from '../test/http';
import { ApiError } from '../api/errors';

const user = { id: 'u1', email: 'pat@example.com', role: 'admin' as const, tenant_id: 't1' };
const grant = (token: string, expires_in = 900) => json(200, { access_token: token, token_type: 'Bearer', expires_in, user });

/** Channels of several tabs, delivering synchronously to the others. */
function channels(n: number): ChannelLike[] {
  const all: ChannelLike[] = [];
  for (let i = 0; i < n; i++) {
    const ch: ChannelLike = {
      onmessage: null,
      postMessage(m) {
        for (const other of all) if (other !== ch) other.onmessage?.({ data: m } as MessageEvent);
      },
      close() {},
    };
    all.push(ch);
  }
  return all;
}

/** One lock manager shared by "tabs": callbacks of a name run one at a time. */
function sharedLocks(): LockManagerLike {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request<T>(_name: string, cb: () => Promise<T>): Promise<T> {
      const run = tail.then(cb, cb);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

describe('SessionManager', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('signs in with the CSRF header and keeps the token in memory only', async () => {
    const http = stubFetch().on('POST', '/api/v1/session', grant('a1'));
    const s = new SessionManager({ fetch: http.fetch });
    const u = await s.login('pat@example.com', 'secret-secret');
    expect(u).toEqual(user);
    expect(s.getToken()).toBe('a1');
    expect(s.getSnapshot()).toEqual({ status: 'authenticated', user });
    const call = http.calls[0]!;
    expect(call.headers.get('X-Adpulse-CSRF')).toBe('1');
    expect(JSON.parse(call.body ?? '')).toEqual({ email: 'pat@example.com', password: 'secret-secret' });
    expect(window.localStorage.length + window.sessionStorage.length).toBe(0);
  });

  it('reports invalid credentials as an ApiError and stays signed out', async () => {
    const http = stubFetch().on('POST', '/api/v1/session', apiError(401, 'invalid_credentials', 'wrong email or password'));
    const s = new SessionManager({ fetch: http.fetch });
    const err = await s.login('a@b.c', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('invalid_credentials');
    expect(s.getToken()).toBeNull();
  });

  it('renews at 80 % of the token life, not before', async () => {
    let n = 0;
    const http = stubFetch()
      .on('POST', '/api/v1/session', grant('a1', 900))
      .on('POST', '/api/v1/session/refresh', () => grant(`r${++n}`, 900));
    const s = new SessionManager({ fetch: http.fetch });
    await s.login('pat@example.com', 'pw');
    await vi.advanceTimersByTimeAsync(719_000);
    expect(http.calls.filter((c) => c.url.endsWith('/session/refresh'))).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(http.calls.filter((c) => c.url.endsWith('/session/refresh'))).toHaveLength(1);
    expect(s.getToken()).toBe('r1');
    // and again 720 s after that renewal
    await vi.advanceTimersByTimeAsync(720_000);
    expect(s.getToken()).toBe('r2');
  });

  it('restores a session from the refresh cookie on load', async () => {
    const http = stubFetch().on('POST', '/api/v1/session/refresh', grant('r1'));
    const s = new SessionManager({ fetch: http.fetch });
    expect(s.getSnapshot().status).toBe('unknown');
    expect(await s.restore()).toBe(true);
    expect(s.getSnapshot().status).toBe('authenticated');
    expect(http.calls[0]!.headers.get('X-Adpulse-CSRF')).toBe('1');
  });

  it('is signed out when the refresh is refused (no session, reused token)', async () => {
    const http = stubFetch().on('POST', '/api/v1/session/refresh', apiError(401, 'refresh_reused', 'reused'));
    const s = new SessionManager({ fetch: http.fetch });
    expect(await s.restore()).toBe(false);
    expect(s.getSnapshot()).toEqual({ status: 'anonymous', user: null });
  });

  it('shares one pending refresh among concurrent callers in a tab (fallback without Web Locks)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const http = stubFetch().on('POST', '/api/v1/session/refresh', async () => {
      await gate;
      return grant('r1');
    });
    const s = new SessionManager({ fetch: http.fetch, locks: null });
    const a = s.refresh();
    const b = s.refresh();
    release();
    expect(await Promise.all([a, b])).toEqual(['r1', 'r1']);
    expect(http.calls).toHaveLength(1);
  });

  it('serializes refreshes without Web Locks: a second one starts only after the first ended', async () => {
    const order: string[] = [];
    let n = 0;
    const http = stubFetch().on('POST', '/api/v1/session/refresh', async () => {
      const k = ++n;
      order.push(`start${k}`);
      await Promise.resolve();
      order.push(`end${k}`);
      return grant(`r${k}`);
    });
    const s = new SessionManager({ fetch: http.fetch, locks: null });
    const first = s.refresh();
    // A logout queued meanwhile waits for the refresh (same queue).
    const out = s.logout();
    await first;
    await out;
    expect(order).toEqual(['start1', 'end1']);
    expect(http.calls.map((c) => c.method)).toEqual(['POST', 'DELETE']);
  });

  it('across tabs: the lock serializes refreshes and the waiting tab takes the token the other one got', async () => {
    let n = 0;
    const http = stubFetch()
      .on('POST', '/api/v1/session', grant('a1'))
      .on('POST', '/api/v1/session/refresh', async () => {
        await Promise.resolve();
        return grant(`r${++n}`);
      });
    const locks = sharedLocks();
    const [c1, c2] = channels(2);
    const tab1 = new SessionManager({ fetch: http.fetch, locks, channel: c1 });
    const tab2 = new SessionManager({ fetch: http.fetch, locks, channel: c2 });
    await tab1.login('pat@example.com', 'pw');
    expect(tab2.getToken()).toBe('a1'); // shared over the channel
    const [t1, t2] = await Promise.all([tab1.refresh(), tab2.refresh()]);
    expect(t1).toBe('r1');
    expect(t2).toBe('r1');
    expect(http.calls.filter((c) => c.url.endsWith('/session/refresh'))).toHaveLength(1);
  });

  it('a logout in one tab signs out the others', async () => {
    const http = stubFetch()
      .on('POST', '/api/v1/session', grant('a1'))
      .on('DELETE', '/api/v1/session', new Response(null, { status: 204 }));
    const [c1, c2] = channels(2);
    const tab1 = new SessionManager({ fetch: http.fetch, channel: c1 });
    const tab2 = new SessionManager({ fetch: http.fetch, channel: c2 });
    await tab1.login('pat@example.com', 'pw');
    await tab1.logout();
    expect(tab1.getSnapshot().status).toBe('anonymous');
    expect(tab2.getSnapshot().status).toBe('anonymous');
    expect(tab2.getToken()).toBeNull();
    const del = http.calls.find((c) => c.method === 'DELETE')!;
    expect(del.headers.get('X-Adpulse-CSRF')).toBe('1');
  });

  it('keeps the session and tries again later when renewal fails for now (503)', async () => {
    let fail = true;
    const http = stubFetch()
      .on('POST', '/api/v1/session', grant('a1', 100))
      .on('POST', '/api/v1/session/refresh', () => (fail ? apiError(503, 'unavailable', 'down') : grant('r1')));
    const s = new SessionManager({ fetch: http.fetch, retryAfterMs: 5_000 });
    await s.login('pat@example.com', 'pw');
    await vi.advanceTimersByTimeAsync(80_000);
    expect(s.getSnapshot().status).toBe('authenticated');
    expect(s.getToken()).toBe('a1');
    fail = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(s.getToken()).toBe('r1');
  });
});
