// `npm run screenshots`: the main pages at 1280×800 into docs/console/*.png,
// with a tenant seeded to look like real use. Not part of `npm run e2e`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, login, navigate, sendBatch, sendEvents, test, type SeedEvent } from '../support/fixtures';
import { makePng } from '../support/images';
import { Receiver } from '../support/receiver';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/console');

async function shot(page: Page, name: string): Promise<void> {
  // No caret or focus ring in the pictures.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.screenshot({ path: path.join(OUT, `${name}.png`), animations: 'disabled' });
}

/** A busy afternoon: impressions per 5 s rising and falling over the last hour. */
function lastHour(now: number): SeedEvent[] {
  const out: SeedEvent[] = [];
  for (let s = 3600; s > 5; s -= 5) {
    const t = new Date(now - s * 1000);
    const wave = 4 + 3 * Math.sin(s / 420) + 2 * Math.sin(s / 97);
    const n = Math.max(0, Math.round(wave + (s % 7) / 3));
    for (let i = 0; i < n; i++) out.push({ type: 'impression', occurredAt: t, channel: i % 3 ? 'display' : 'social', cost_micros: 1800 });
    if (s % 35 === 0) out.push({ type: 'click', occurredAt: t, cost_micros: 45_000 });
    if (s % 420 === 0) out.push({ type: 'conversion', occurredAt: t, cost_micros: 0, revenue_micros: 24_000_000 });
  }
  return out;
}

/** Two weeks of days, more on weekdays, a few events an hour. */
function lastDays(now: number, days: number, scale: number): SeedEvent[] {
  const out: SeedEvent[] = [];
  for (let d = days - 1; d >= 0; d--) {
    const day = new Date(now - d * 86_400_000);
    const weekend = day.getUTCDay() === 0 || day.getUTCDay() === 6;
    const n = Math.round(scale * (weekend ? 0.6 : 1) * (1 + 0.25 * Math.sin(d)));
    for (let i = 0; i < n; i++) {
      const t = new Date(Math.min(now - 60_000, day.getTime() - ((i * 3_600_000 * 7) % 43_200_000)));
      out.push({ type: 'impression', occurredAt: t, channel: i % 4 === 0 ? 'video' : 'display', cost_micros: 2500 });
      if (i % 12 === 0) out.push({ type: 'click', occurredAt: t, cost_micros: 60_000 });
      if (i % 90 === 0) out.push({ type: 'conversion', occurredAt: t, cost_micros: 0, revenue_micros: 38_000_000 });
    }
  }
  return out;
}

test('screenshots of the main pages', async ({ page, tenant, server }) => {
  test.setTimeout(240_000);
  const api = tenant.api;
  const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
  const budget = (eur: number) => ({ total_micros: eur * 1_000_000, currency: 'EUR', daily_cap_micros: Math.round(eur / 20) * 1_000_000 });
  const mk = (name: string, brand: string, eur: number, start: number, end: number, channels: string[]) =>
    api.createCampaign(name, {
      brand_id: brand,
      budget: budget(eur),
      schedule: { start: inDays(start), end: inDays(end), timezone: 'Europe/Berlin' },
      objectives: ['awareness', 'conversions'],
      channels,
    });

  const spring = await mk('Spring Sale 2026', 'northwind', 48_000, -14, 30, ['display', 'social']);
  const summer = await mk('Summer Launch — Video', 'northwind', 120_000, -10, 60, ['video', 'display']);
  const cart = await mk('Retargeting — Cart Abandoners', 'northwind-shop', 15_000, -21, 45, ['display']);
  const brand = await mk('Brand Awareness Q3', 'contoso', 75_000, -7, 80, ['video', 'native']);
  await mk('Holiday Gift Guide', 'contoso', 32_000, 40, 90, ['display', 'native']);
  const app = await mk('App Install Push', 'fabrikam', 22_000, -30, -1, ['social']);
  for (const id of [spring, summer, cart, brand, app]) await api.setStatus(id, 'active');
  await api.setStatus(brand, 'paused');
  await api.setStatus(app, 'completed');

  const now = Date.now();
  await sendBatch(server, tenant.ingestKey, spring, [...lastHour(now), ...lastDays(now, 14, 160)]);
  await sendBatch(server, tenant.ingestKey, summer, lastDays(now, 10, 220));
  await sendBatch(server, tenant.ingestKey, cart, lastDays(now, 14, 60));
  await sendBatch(server, tenant.ingestKey, brand, lastDays(now, 7, 90));

  const tiles: [string, number, number, [number, number, number], [number, number, number]][] = [
    ['spring-leaderboard-728x90.png', 728, 90, [11, 92, 173], [120, 190, 255]],
    ['spring-square-600.png', 600, 600, [26, 127, 55], [190, 240, 160]],
    ['spring-skyscraper-160x600.png', 160, 600, [179, 89, 0], [255, 214, 102]],
    ['spring-rectangle-300x250.png', 300, 250, [120, 40, 160], [250, 160, 200]],
    ['spring-billboard-970x250.png', 970, 250, [20, 20, 60], [60, 160, 200]],
    ['spring-mobile-320x50.png', 320, 50, [200, 30, 60], [255, 200, 120]],
    ['spring-story-1080x1920.png', 540, 960, [0, 120, 120], [240, 230, 140]],
    ['spring-halfpage-300x600.png', 300, 600, [60, 60, 60], [200, 200, 200]],
  ];
  for (const [name, w, h, a, b] of tiles) await api.uploadCreative(spring, { name, mimeType: 'image/png', buffer: makePng(w, h, a, b) });

  await login(page, tenant.admin);
  await expect(page.getByRole('link', { name: 'Spring Sale 2026' })).toBeVisible();
  await shot(page, 'campaigns');

  await page.getByRole('link', { name: 'Spring Sale 2026' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Spring Sale 2026' })).toBeVisible();
  await shot(page, 'campaign');

  await page.getByRole('link', { name: 'Live view' }).click();
  await expect(page.locator('.page-head').getByRole('status')).toHaveText('live');
  // Moving: a few more right now, while the page looks.
  for (let i = 0; i < 4; i++) {
    await sendEvents(server, tenant.ingestKey, spring, [{ type: 'impression', count: 9 }, { type: 'click', count: 1 }]);
    await page.waitForTimeout(1200);
  }
  await expect(page.getByRole('img', { name: 'The last hour in 5-second points' })).toBeVisible();
  await shot(page, 'live');

  await navigate(page, 'Reports');
  await page.getByLabel('Campaign').selectOption({ label: 'Spring Sale 2026 (active)' });
  await page.getByLabel('From').fill(new Date(now - 13 * 86_400_000).toISOString().slice(0, 10));
  await page.getByRole('button', { name: 'Show report' }).click();
  await expect(page.getByText(/^\d+ rows · .* · day$/)).toBeVisible();
  await expect(page.getByRole('table', { name: 'Report rows' }).locator('tbody tr')).not.toHaveCount(0);
  await shot(page, 'reports');

  await page.getByRole('link', { name: 'Top campaigns →' }).click();
  await expect(page.getByRole('table').locator('tbody tr').first()).toBeVisible();
  await shot(page, 'top-campaigns');

  await navigate(page, 'Creatives');
  for (const [name] of tiles) {
    await expect
      .poll(() => page.getByRole('img', { name }).evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth))
      .toBeGreaterThan(0);
  }
  await shot(page, 'creatives');

  await navigate(page, 'Admin');
  await expect(page.getByRole('heading', { name: 'Ingest keys' })).toBeVisible();
  await shot(page, 'admin');

  // Alerts: rules on the seeded campaigns, notifying a receiver on loopback
  // (one path of it failing, for a dead letter), fired by a few more events.
  const rx = await Receiver.start();
  try {
    rx.answer('/pager', 503);
    const channel = async (name: string, kind: string, target: string) =>
      (await api.json<{ id: string }>('/alert-channels', { method: 'POST', body: JSON.stringify({ name, kind, target }) })).id;
    const ops = await channel('Ops webhook', 'webhook', `${rx.url}/ops`);
    const pager = await channel('Pager bridge', 'webhook', `${rx.url}/pager`);
    await channel('Marketing inbox', 'email', 'marketing@northwind.example');
    const rule = async (body: Record<string, unknown>) =>
      (await api.json<{ id: string }>('/alert-rules', { method: 'POST', body: JSON.stringify(body) })).id;
    const spike = await rule({
      name: 'Spring spend spike',
      campaign_id: spring,
      condition: {
        all: [
          { metric: 'spend', over: 'today', op: '>', value: 1_000_000 },
          { any: [{ metric: 'ctr', over: 'today', op: '<', value: 10 }, { budget_exhausted: 'daily' }] },
        ],
      },
      cooldown_secs: 1800,
      channel_ids: [ops, pager],
    });
    await rule({ name: 'Northwind budget stop', brand_id: 'northwind', condition: { budget_exhausted: 'either' }, channel_ids: [ops] });
    await rule({
      name: 'Low ROAS anywhere',
      condition: { metric: 'roas', over: 'lifetime', op: '<', value: 1.5 },
      for_secs: 3600,
      enabled: false,
    });
    await sendEvents(server, tenant.ingestKey, spring, [{ type: 'impression', count: 20 }, { type: 'click', count: 1 }]);
    await expect.poll(() => rx.to('/ops').length, { timeout: 90_000 }).toBeGreaterThan(0);
    await expect.poll(() => rx.to('/pager').length, { timeout: 30_000 }).toBeGreaterThanOrEqual(3);

    await navigate(page, 'Alerts');
    await expect(page.getByRole('link', { name: 'Spring spend spike', exact: true })).toBeVisible();
    await shot(page, 'alerts');

    await page.goto(`/alerts/${spike}`);
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect(page.getByRole('table', { name: 'Deliveries' }).getByText('dead')).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    await page.getByRole('heading', { name: 'Firings' }).evaluate((h) => window.scrollTo(0, h.getBoundingClientRect().top + window.scrollY - 90));
    await shot(page, 'alert-rule');

    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'Edit alert rule' })).toBeVisible();
    await page.getByRole('group', { name: 'Condition 2.1', exact: true }).getByLabel('Value').fill('-5');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByText('Some fields need attention.')).toBeVisible();
    // Tall enough for the whole condition under the notice.
    await page.setViewportSize({ width: 1280, height: 1180 });
    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 60));
    await shot(page, 'alert-rule-builder');
    await page.setViewportSize({ width: 1280, height: 800 });
  } finally {
    await rx.stop();
  }
});
