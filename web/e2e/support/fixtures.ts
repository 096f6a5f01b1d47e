// Test fixtures: the running server, a fresh tenant per test (so tests
// never see each other's data), API helpers and signing in through the UI.
import { randomBytes, randomUUID } from 'node:crypto';
import { test as base, expect, type Page } from '@playwright/test';
import { adminCli, serverInfo, type ServerInfo } from './server';

export type Role = 'admin' | 'campaign_manager' | 'analyst';

export interface User {
  email: string;
  password: string;
  role: Role;
}

/** A tenant of its own: an admin, an ingest key, and API calls as that admin. */
export interface Tenant {
  id: string;
  name: string;
  admin: User;
  ingestKey: string;
  api: Api;
  /** A user of this tenant with the role (created through the API). */
  addUser: (role: Role) => Promise<User>;
}

let counter = 0;
/** A name no other test (or run) uses. */
export function uniq(prefix: string): string {
  counter += 1;
  return `${prefix} ${Date.now().toString(36)}${counter}${randomBytes(2).toString('hex')}`;
}

export function uniqEmail(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}@e2e.example`;
}

function password(): string {
  return `pw-${randomBytes(12).toString('hex')}`;
}

/** `POST /api/v1/auth/login` for a Bearer token. */
export async function bearer(server: ServerInfo, email: string, pw: string): Promise<string> {
  const res = await fetch(`${server.baseURL}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: pw }),
  });
  if (!res.ok) throw new Error(`login of ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The API as one user, with a Bearer token (Node fetch, not the browser). */
export class Api {
  constructor(
    readonly server: ServerInfo,
    private readonly token: string,
  ) {}

  async raw(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.token}`);
    if (typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${this.server.baseURL}/api/v1${path}`, { ...init, headers });
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.raw(path, init);
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async text(path: string): Promise<string> {
    const res = await this.raw(path);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.text();
  }

  /** A new draft campaign; returns its id. */
  async createCampaign(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const body = { name, objectives: ['awareness'], channels: ['display'], ...extra };
    const r = await this.json<{ id?: string; data?: { id: string } }>('/campaigns', {
      method: 'POST',
      body: JSON.stringify(body),
    });
    const id = r.data?.id ?? r.id;
    if (!id) throw new Error(`POST /campaigns gave no id: ${JSON.stringify(r)}`);
    return id;
  }

  /** Moves a campaign one lifecycle step (reads the ETag first). */
  async setStatus(id: string, status: string): Promise<void> {
    const res = await this.raw(`/campaigns/${id}`);
    const etag = res.headers.get('etag');
    if (!res.ok || !etag) throw new Error(`GET /campaigns/${id}: ${res.status}`);
    await this.json(`/campaigns/${id}/status`, {
      method: 'PATCH',
      headers: { 'if-match': etag },
      body: JSON.stringify({ status }),
    });
  }

  /** Uploads a creative (multipart, field `file`). */
  async uploadCreative(campaignId: string, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(file.buffer)], { type: file.mimeType }), file.name);
    const res = await this.raw(`/campaigns/${campaignId}/assets`, { method: 'POST', body: form });
    if (!res.ok) throw new Error(`upload ${file.name}: ${res.status} ${await res.text()}`);
  }
}

export type EventType = 'impression' | 'click' | 'conversion';

/** Sends events through the gateway (202 each); returns how many were accepted. */
export async function sendEvents(
  server: ServerInfo,
  ingestKey: string,
  campaignId: string,
  events: { type: EventType; count: number; channel?: string; cost_micros?: number; revenue_micros?: number }[],
): Promise<number> {
  let sent = 0;
  for (const e of events) {
    for (let i = 0; i < e.count; i++) {
      const body: Record<string, unknown> = {
        event_id: randomUUID(),
        type: e.type,
        campaign_id: campaignId,
        ad_id: 'creative-42',
        channel: e.channel ?? 'display',
        occurred_at: new Date().toISOString(),
        cost_micros: e.cost_micros ?? 1250,
      };
      if (e.revenue_micros !== undefined) body.revenue_micros = e.revenue_micros;
      const res = await fetch(`${server.gatewayURL}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 202) throw new Error(`gateway answered ${res.status}: ${await res.text()}`);
      sent += 1;
    }
  }
  return sent;
}

/** A new tenant with an admin (CLI) and an ingest key (CLI). */
export async function createTenant(server: ServerInfo, label = 'Tenant'): Promise<Tenant> {
  const name = uniq(label);
  const id = await adminCli(server, ['create-tenant', '--name', name]);
  const admin: User = { email: uniqEmail('admin'), password: password(), role: 'admin' };
  await adminCli(server, ['create-user', '--tenant', id, '--email', admin.email, '--role', 'admin'], admin.password);
  const keyOut = await adminCli(server, ['create-key', '--tenant', id, '--name', 'e2e gateway']);
  const secret = /secret\s+(\S+)/.exec(keyOut)?.[1];
  if (!secret) throw new Error(`create-key printed no secret: ${keyOut}`);
  const api = new Api(server, await bearer(server, admin.email, admin.password));
  return {
    id,
    name,
    admin,
    ingestKey: secret,
    api,
    addUser: async (role: Role) => {
      const u: User = { email: uniqEmail(role.replace('_', '-')), password: password(), role };
      await api.json('/users', { method: 'POST', body: JSON.stringify({ email: u.email, password: u.password, role }) });
      return u;
    },
  };
}

/** Signs in through the login form and waits for the campaigns page. */
export async function login(page: Page, user: { email: string; password: string }): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Campaigns' })).toBeVisible();
}

export const test = base.extend<{ tenant: Tenant }, { server: ServerInfo }>({
  server: [async ({}, use) => use(serverInfo()), { scope: 'worker' }],
  baseURL: async ({ server }, use) => use(server.baseURL),
  tenant: async ({ server }, use) => use(await createTenant(server)),
});

export { expect };

/** Follows a link of the main navigation. */
export async function navigate(page: Page, name: 'Campaigns' | 'Reports' | 'Creatives' | 'Alerts' | 'Admin'): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
}

export interface SeedEvent {
  type: EventType;
  occurredAt: Date;
  channel?: string;
  cost_micros?: number;
  revenue_micros?: number;
}

/** Sends many events (any `occurred_at`) through `POST /v1/events/batch`, 500 a request. */
export async function sendBatch(server: ServerInfo, ingestKey: string, campaignId: string, events: SeedEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const body = events.slice(i, i + 500).map((e) => {
      const o: Record<string, unknown> = {
        event_id: randomUUID(),
        type: e.type,
        campaign_id: campaignId,
        ad_id: 'creative-42',
        channel: e.channel ?? 'display',
        occurred_at: e.occurredAt.toISOString(),
        cost_micros: e.cost_micros ?? 1250,
      };
      if (e.revenue_micros !== undefined) o.revenue_micros = e.revenue_micros;
      return o;
    });
    const res = await fetch(`${server.gatewayURL}/v1/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 202) throw new Error(`gateway batch answered ${res.status}: ${text.slice(0, 500)}`);
    const r = JSON.parse(text) as { rejected: number };
    if (r.rejected) throw new Error(`gateway rejected ${r.rejected} events: ${text.slice(0, 500)}`);
  }
}
