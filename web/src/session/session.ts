// The browser session: the access token lives in memory only (never in
// storage); the refresh token is an HttpOnly cookie the JS never sees.
//
// - Renewal: at `renewFraction` (80 %) of the token's life, and on demand
//   (a call that got 401 asks once, then retries).
// - Refresh tokens rotate and a reused one revokes the login, so refreshes
//   are serialized across tabs with the Web Locks API (within the tab with
//   a promise chain when the API is absent), and a tab that waited for the
//   lock first looks whether another tab already renewed.
// - Tabs share a new access token, and a logout, over a BroadcastChannel.
import { networkError, parseApiError } from '../api/errors';
import type { SessionResponse, SessionUser } from '../api/types';

export type SessionStatus = 'unknown' | 'authenticated' | 'anonymous';

export interface SessionSnapshot {
  status: SessionStatus;
  user: SessionUser | null;
}

export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface ChannelLike {
  postMessage(message: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  close(): void;
}

type Message =
  | { type: 'token'; access_token: string; expires_at: number; user: SessionUser }
  | { type: 'logout' };

export interface SessionOptions {
  fetch?: typeof fetch;
  base?: string;
  locks?: LockManagerLike | null;
  channel?: ChannelLike | null;
  now?: () => number;
  /** Renew after this fraction of the token's life. */
  renewFraction?: number;
  /** After a failed renewal that did not end the session (429, 503, network). */
  retryAfterMs?: number;
}

export const LOCK_NAME = 'adpulse-session';
export const CHANNEL_NAME = 'adpulse-session';
const CSRF = { 'X-Adpulse-CSRF': '1' } as const;

export class SessionManager {
  private token: string | null = null;
  private expiresAt = 0;
  private snapshot: SessionSnapshot = { status: 'unknown', user: null };
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<string | null> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly fetchFn: typeof fetch;
  private readonly base: string;
  private readonly locks: LockManagerLike | null;
  private readonly channel: ChannelLike | null;
  private readonly now: () => number;
  private readonly renewFraction: number;
  private readonly retryAfterMs: number;

  constructor(opts: SessionOptions = {}) {
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.base = opts.base ?? '/api/v1';
    this.locks = opts.locks ?? null;
    this.channel = opts.channel ?? null;
    this.now = opts.now ?? (() => Date.now());
    this.renewFraction = opts.renewFraction ?? 0.8;
    this.retryAfterMs = opts.retryAfterMs ?? 10_000;
    if (this.channel) this.channel.onmessage = (ev) => this.onMessage(ev.data as Message);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SessionSnapshot => this.snapshot;

  /** The current access token, if any. */
  getToken(): string | null {
    return this.token;
  }

  /** Signs in; throws ApiError (401 `invalid_credentials`, 429, 422 …). */
  async login(email: string, password: string): Promise<SessionUser> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}/session`, {
        method: 'POST',
        headers: { ...CSRF, 'Content-Type': 'application/json', Accept: 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ email, password }),
      });
    } catch (e) {
      throw networkError(e);
    }
    if (!res.ok) throw await parseApiError(res);
    const body = (await res.json()) as SessionResponse;
    this.adopt(body.access_token, this.now() + body.expires_in * 1000, body.user, true);
    return body.user;
  }

  /** On app load: a session from the refresh cookie, if there is one. */
  async restore(): Promise<boolean> {
    return (await this.refresh()) !== null;
  }

  /**
   * A new access token from the refresh cookie, or null when there is no
   * session any more (401) or renewal failed for now. One at a time in
   * this tab (callers share the pending one) and across tabs (a lock).
   */
  refresh(): Promise<string | null> {
    if (this.inflight) return this.inflight;
    const before = this.token;
    const run = this.serialized(async () => {
      // Another tab may have renewed while this one waited for the lock.
      if (this.token !== null && this.token !== before && this.expiresAt - this.now() > 5_000) {
        return this.token;
      }
      return this.renewNow();
    });
    const p = run.finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  /** Ends the session here and in every tab. */
  async logout(): Promise<void> {
    this.clearTimer();
    try {
      await this.serialized(() =>
        this.fetchFn(`${this.base}/session`, {
          method: 'DELETE',
          headers: { ...CSRF },
          credentials: 'same-origin',
        }),
      );
    } catch {
      // offline: the token is forgotten all the same
    } finally {
      this.clear(true);
    }
  }

  dispose(): void {
    this.clearTimer();
    this.listeners.clear();
    this.channel?.close();
  }

  private async renewNow(): Promise<string | null> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}/session/refresh`, {
        method: 'POST',
        headers: { ...CSRF, Accept: 'application/json' },
        credentials: 'same-origin',
      });
    } catch {
      this.failedForNow();
      return null;
    }
    if (res.ok) {
      const body = (await res.json()) as SessionResponse;
      this.adopt(body.access_token, this.now() + body.expires_in * 1000, body.user, true);
      return this.token;
    }
    if (res.status === 401 || res.status === 403) {
      // invalid_token, refresh_reused, no_session: logged out
      this.clear(true);
      return null;
    }
    this.failedForNow();
    return null;
  }

  /** Renewal failed without an answer on the session: try again later. */
  private failedForNow(): void {
    if (this.snapshot.status === 'unknown' || this.token === null) {
      this.setSnapshot({ status: 'anonymous', user: null });
      return;
    }
    this.schedule(this.retryAfterMs);
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.locks) return this.locks.request(LOCK_NAME, fn);
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private adopt(token: string, expiresAt: number, user: SessionUser, broadcast: boolean): void {
    this.token = token;
    this.expiresAt = expiresAt;
    const prev = this.snapshot;
    if (prev.status !== 'authenticated' || !sameUser(prev.user, user)) {
      this.setSnapshot({ status: 'authenticated', user });
    }
    const life = Math.max(0, expiresAt - this.now());
    this.schedule(life * this.renewFraction);
    if (broadcast) {
      this.post({ type: 'token', access_token: token, expires_at: expiresAt, user });
    }
  }

  private clear(broadcast: boolean): void {
    this.clearTimer();
    this.token = null;
    this.expiresAt = 0;
    if (this.snapshot.status !== 'anonymous') this.setSnapshot({ status: 'anonymous', user: null });
    if (broadcast) this.post({ type: 'logout' });
  }

  private onMessage(m: Message): void {
    if (m.type === 'token') this.adopt(m.access_token, m.expires_at, m.user, false);
    else if (m.type === 'logout') this.clear(false);
  }

  private post(m: Message): void {
    try {
      this.channel?.postMessage(m);
    } catch {
      // a closed channel: other tabs renew on their own
    }
  }

  private schedule(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private setSnapshot(s: SessionSnapshot): void {
    this.snapshot = s;
    for (const l of [...this.listeners]) l();
  }
}

function sameUser(a: SessionUser | null, b: SessionUser): boolean {
  return a !== null && a.id === b.id && a.role === b.role && a.email === b.email && a.tenant_id === b.tenant_id;
}

/** The session of this browser tab, with the tab's locks and channel. */
export function browserSession(): SessionManager {
  const locks =
    typeof navigator !== 'undefined' && 'locks' in navigator && navigator.locks
      ? {
          request: <T,>(name: string, cb: () => Promise<T>) =>
            navigator.locks.request(name, cb) as Promise<T>,
        }
      : null;
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL_NAME) : null;
  return new SessionManager({ locks, channel });
}

