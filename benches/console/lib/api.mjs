// The adpulse API and gateway as the benchmark uses them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

export function welcome(data) {
  return JSON.parse(readFileSync(join(data, 'welcome.json'), 'utf8'));
}

export class Api {
  constructor(base, email, password) {
    Object.assign(this, { base, email, password, token: null });
  }
  async login() {
    const r = await fetch(`${this.base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: this.email, password: this.password }),
    });
    if (!r.ok) throw new Error(`login: ${r.status} ${await r.text()}`);
    this.token = (await r.json()).access_token;
    return this.token;
  }
  /** A request with the Bearer token; logs in again once on 401, waits out 429/503. */
  async call(method, path, body, headers = {}) {
    if (!this.token) await this.login();
    let relogins = 0;
    for (let attempt = 0; ; attempt++) {
      let r;
      try {
        r = await fetch(`${this.base}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.token}`, ...headers },
          body,
        });
      } catch (e) {
        // a kept-alive connection closed under us (EPIPE, ECONNRESET): try again
        if (attempt >= 5) throw e;
        await new Promise((res) => setTimeout(res, 500 * (attempt + 1)));
        continue;
      }
      if (r.status === 401 && relogins++ < 3) {
        await this.login();
        continue;
      }
      if ((r.status === 429 || r.status === 503 || r.status === 408) && attempt < 20) {
        await new Promise((res) => setTimeout(res, 250 * (attempt + 1)));
        continue;
      }
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      return r.status === 204 ? null : r.json();
    }
  }
  json(method, path, value) {
    return this.call(method, path, JSON.stringify(value), { 'content-type': 'application/json' });
  }
}

/** One impression through the gateway; resolves at its 202 (Date.now()). */
export async function sendImpression(gateway, ingestKey, campaignId) {
  const r = await fetch(`${gateway}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      event_id: randomUUID(),
      type: 'impression',
      campaign_id: campaignId,
      ad_id: 'creative-42',
      channel: 'display',
      occurred_at: new Date().toISOString(),
      cost_micros: 1250,
    }),
  });
  const at = Date.now();
  if (r.status !== 202) throw new Error(`gateway: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
  return at;
}
