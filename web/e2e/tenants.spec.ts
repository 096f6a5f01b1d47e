import { createTenant, expect, login, navigate, test, uniq } from './support/fixtures';
import { makePng } from './support/images';

test("a second tenant's user sees none of tenant A's campaigns or creatives", async ({ page, tenant, server }) => {
  const secret = uniq('Tenant A secret plan');
  const idA = await tenant.api.createCampaign(secret);
  await tenant.api.uploadCreative(idA, { name: 'a-only.png', mimeType: 'image/png', buffer: makePng(120, 60, [200, 0, 0], [0, 0, 200]) });
  const other = await createTenant(server, 'Tenant B');
  const mine = uniq('Tenant B own');
  await other.api.createCampaign(mine);

  await login(page, other.admin);
  await expect(page.getByRole('link', { name: mine })).toBeVisible();
  await expect(page.getByText('1 campaign · page 1')).toBeVisible();
  await expect(page.getByText(secret)).toHaveCount(0);

  // Searching for it by name finds nothing.
  await page.getByLabel('Name contains').fill('Tenant A');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByText('No campaigns match.')).toBeVisible();

  // Its URL does not open it.
  await page.goto(`/campaigns/${idA}`);
  await expect(page.getByRole('alert')).toContainText(/could not load the campaign/i);
  await expect(page.getByText(secret)).toHaveCount(0);

  await navigate(page, 'Creatives');
  await expect(page.getByText('No creatives match.')).toBeVisible();
  await expect(page.getByText('a-only.png')).toHaveCount(0);
  const pickers = page.getByLabel('Campaign');
  await expect(pickers.locator('option')).toHaveText(['All campaigns', `${mine} (draft)`]);

  await navigate(page, 'Reports');
  await expect(page.getByLabel('Campaign').locator('option')).toHaveText(['Choose a campaign…', `${mine} (draft)`]);

  // And the API agrees with what the console shows.
  expect((await other.api.raw(`/campaigns/${idA}`)).status).toBe(404);
  const creatives = await other.api.json<{ data: unknown[] }>('/creatives');
  expect(creatives.data).toHaveLength(0);
});
