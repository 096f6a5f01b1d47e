import { expect, login, sendEvents, test, uniq } from './support/fixtures';
import { expectAccessible } from './support/axe';
import { makePng } from './support/images';

// The alerts pages are checked in alerts.spec.ts, in the states its journey reaches.

test('every page passes axe (WCAG 2 A/AA): no serious or critical violations', async ({ page, tenant, server }) => {
  const name = uniq('Accessible campaign');
  const id = await tenant.api.createCampaign(name, { brand_id: 'acme', budget: { total_micros: 5_000_000_000, currency: 'EUR', daily_cap_micros: null } });
  await tenant.api.setStatus(id, 'active');
  await tenant.api.uploadCreative(id, { name: 'hero.png', mimeType: 'image/png', buffer: makePng(400, 200, [11, 92, 173], [26, 127, 55]) });
  await sendEvents(server, tenant.ingestKey, id, [
    { type: 'impression', count: 6 },
    { type: 'click', count: 2 },
  ]);

  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in to adpulse' })).toBeVisible();
  await expectAccessible(page, 'the login page');
  // With the error shown.
  await page.getByLabel('Email').fill(tenant.admin.email);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await expectAccessible(page, 'the login page with an error');

  await login(page, tenant.admin);
  await expect(page.getByRole('link', { name })).toBeVisible();
  await expectAccessible(page, 'the campaigns list');

  await page.goto('/campaigns/new');
  await expect(page.getByRole('heading', { name: 'New campaign' })).toBeVisible();
  await expectAccessible(page, 'the new campaign form');

  await page.goto(`/campaigns/${id}`);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expectAccessible(page, 'the campaign detail');

  await page.goto(`/campaigns/${id}/edit`);
  await expect(page.getByRole('heading', { name: 'Edit campaign' })).toBeVisible();
  await page.getByLabel('Currency (ISO 4217)').fill('E1');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText('Some fields need attention.')).toBeVisible();
  await expectAccessible(page, 'the edit form with a field error');

  await page.goto(`/campaigns/${id}/targeting`);
  await expect(page.getByRole('heading', { name: 'Targeting' })).toBeVisible();
  await page.getByRole('button', { name: 'Add daypart' }).click();
  await page.getByRole('checkbox', { name: 'Limit how often one person sees this campaign' }).check();
  await expectAccessible(page, 'the targeting form');

  await page.goto(`/campaigns/${id}/live`);
  await expect(page.locator('.page-head').getByRole('status')).toHaveText('live');
  await expectAccessible(page, 'the live page');

  await page.goto(`/reports?campaign=${id}`);
  await expect(page.getByRole('table', { name: 'Report rows' })).toBeVisible();
  await expectAccessible(page, 'the reports page');

  await page.goto('/reports/top');
  await expect(page.getByRole('table').locator('tbody tr')).toHaveCount(1);
  await expectAccessible(page, 'the top campaigns page');

  await page.goto('/creatives');
  await expect(page.getByRole('img', { name: 'hero.png' })).toBeVisible();
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expectAccessible(page, 'the creatives library with the upload panel');
  await page.getByTestId('creative-tile').click();
  await expect(page.getByRole('dialog', { name: 'hero.png' })).toBeVisible();
  await expectAccessible(page, 'a creative dialog');
  await page.keyboard.press('Escape');

  await page.goto('/admin');
  await expect(page.getByRole('heading', { name: 'Ingest keys' })).toBeVisible();
  await expectAccessible(page, 'the admin page');
});
