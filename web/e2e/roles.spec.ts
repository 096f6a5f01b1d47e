import { expect, login, navigate, test, uniq } from './support/fixtures';
import { makePng } from './support/images';

test('an analyst sees no create, edit or delete buttons and no admin page', async ({ page, tenant }) => {
  const name = uniq('Analysed campaign');
  const id = await tenant.api.createCampaign(name);
  await tenant.api.uploadCreative(id, { name: 'look-only.png', mimeType: 'image/png', buffer: makePng(200, 100, [0, 90, 170], [240, 240, 240]) });
  const analyst = await tenant.addUser('analyst');

  await login(page, analyst);
  await expect(page.locator('.role-tag')).toHaveText(/analyst/i);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link')).toHaveText(['Campaigns', 'Reports', 'Creatives', 'Alerts']);
  await expect(page.getByRole('link', { name: 'New campaign' })).toHaveCount(0);

  await page.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Live view' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Edit', exact: true })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Delete' })).toHaveCount(0);
  await expect(page.getByRole('group', { name: 'Change status' })).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Status' })).toHaveCount(0);

  // Targeting is shown, not editable.
  await page.getByRole('link', { name: 'Targeting', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Targeting' })).toBeVisible();
  await expect(page.getByText('Your role can view targeting but not change it.')).toBeVisible();
  await expect(page.getByLabel(/^Countries/)).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Save targeting' })).toHaveCount(0);

  // Creatives: no upload, no delete.
  await navigate(page, 'Creatives');
  await expect(page.getByTestId('creative-tile')).toHaveCount(1);
  await expect(page.getByRole('button', { name: 'Upload' })).toHaveCount(0);
  await page.getByTestId('creative-tile').click();
  const dialog = page.getByRole('dialog', { name: 'look-only.png' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Delete' })).toHaveCount(0);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // Typed URLs do not open what the menu hides.
  await page.goto('/admin');
  await expect(page.getByRole('heading', { level: 1, name: 'Not available' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Users' })).toHaveCount(0);
  await page.goto('/campaigns/new');
  await expect(page.getByRole('alert')).toHaveText('Your role cannot create or change campaigns.');
  await page.goto(`/campaigns/${id}/edit`);
  await expect(page.getByRole('alert')).toHaveText('Your role cannot create or change campaigns.');
});
