import { expect, login, test as base, uniq, type Tenant, createTenant } from './support/fixtures';
import { startServer, type ServerInfo } from './support/server';
import { sleep } from './support/server';

const TTL = 5;

// This test runs its own adpulse with a 5-second access token.
const test = base.extend<{ shortServer: ServerInfo; shortTenant: Tenant }>({
  shortServer: async ({}, use) => {
    const s = await startServer({ accessTtlSecs: TTL });
    try {
      await use(s.info);
    } finally {
      await s.stop();
    }
  },
  baseURL: async ({ shortServer }, use) => use(shortServer.baseURL),
  shortTenant: async ({ shortServer }, use) => use(await createTenant(shortServer)),
});

test('a session outlives its short access token; logout ends it and revokes the refresh cookie', async ({
  page,
  context,
  shortServer,
  shortTenant,
}) => {
  const refreshes: number[] = [];
  context.on('response', (r) => {
    if (r.url().endsWith('/api/v1/session/refresh')) refreshes.push(r.status());
  });
  const name = uniq('Long session');
  await login(page, shortTenant.admin);
  // (Loading the login page tried a refresh without a cookie: 401, as it should.)
  refreshes.length = 0;

  // Work for three token lifetimes.
  const until = Date.now() + 3 * TTL * 1000 + 1000;
  let round = 0;
  while (Date.now() < until) {
    round += 1;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: round % 2 ? 'Reports' : 'Campaigns', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: round % 2 ? 'Reports' : 'Campaigns' })).toBeVisible();
    await sleep(1500);
  }
  expect(refreshes.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
  expect(refreshes.filter((s) => s !== 200)).toEqual([]);

  // A write long after the first token expired still goes through.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns', exact: true }).click();
  await page.getByRole('link', { name: 'New campaign' }).click();
  await expect(page.getByRole('heading', { name: 'New campaign' })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create draft' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();

  // A reload keeps the session (the refresh cookie restores it).
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.locator('.user-email')).toHaveText(shortTenant.admin.email);

  // A second tab shares the session: both renew (rotating refresh tokens,
  // serialized across tabs) for two more lifetimes without a logout.
  const tab2 = await context.newPage();
  await tab2.goto('/reports');
  await expect(tab2.getByRole('heading', { level: 1, name: 'Reports' })).toBeVisible();
  const until2 = Date.now() + 2 * TTL * 1000 + 1000;
  while (Date.now() < until2) {
    for (const p of [page, tab2]) {
      await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Creatives', exact: true }).click();
      await expect(p.getByRole('heading', { level: 1, name: 'Creatives' })).toBeVisible();
      await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns', exact: true }).click();
      await expect(p.getByRole('link', { name })).toBeVisible();
    }
    await sleep(1000);
  }
  expect(refreshes.filter((s) => s !== 200)).toEqual([]);

  // Logout ends it, also after a reload, and the refresh cookie is revoked.
  const cookies = await context.cookies(shortServer.baseURL + '/api/v1/session/refresh');
  const session = cookies.find((c) => c.name === 'adpulse_session');
  expect(session, 'the refresh cookie').toBeTruthy();
  expect(session!.httpOnly).toBe(true);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to adpulse' })).toBeVisible();
  // The other tab hears of it.
  await expect(tab2.getByRole('heading', { name: 'Sign in to adpulse' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Sign in to adpulse' })).toBeVisible();
  await page.goto(`/campaigns`);
  await expect(page.getByRole('heading', { name: 'Sign in to adpulse' })).toBeVisible();

  const replay = await fetch(`${shortServer.baseURL}/api/v1/session/refresh`, {
    method: 'POST',
    headers: { cookie: `adpulse_session=${session!.value}`, 'x-adpulse-csrf': '1', origin: shortServer.baseURL },
  });
  expect(replay.status).toBe(401);
});
