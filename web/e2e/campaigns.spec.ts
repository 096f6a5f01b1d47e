import { expect, login, test, uniq } from './support/fixtures';

test('log in, create, edit, change status and set targeting of a campaign', async ({ page, tenant }) => {
  // A wrong password is refused with a message; the right one lands on campaigns.
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in to adpulse' })).toBeVisible();
  await page.getByLabel('Email').fill(tenant.admin.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The email or password is wrong.');
  await page.getByLabel('Password').fill(tenant.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Campaigns' })).toBeVisible();
  await expect(page).toHaveURL(/\/campaigns$/);
  await expect(page.getByText('No campaigns match.')).toBeVisible();

  // Create a draft.
  const name = uniq('Spring sale');
  await page.getByRole('link', { name: 'New campaign' }).click();
  await expect(page.getByRole('heading', { name: 'New campaign' })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Brand').fill('acme');
  await page.getByLabel('Total budget').fill('1500');
  await page.getByLabel('Currency (ISO 4217)').fill('EUR');
  await page.getByRole('checkbox', { name: 'awareness' }).check();
  await page.getByRole('checkbox', { name: 'display' }).check();
  await page.getByRole('button', { name: 'Create draft' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.locator('.page-head .status')).toHaveText(/draft/i);
  const campaignUrl = page.url();
  const campaignId = campaignUrl.split('/').pop()!;

  // It is in the list.
  await page.getByRole('link', { name: '← Campaigns' }).click();
  await expect(page.getByRole('link', { name })).toBeVisible();
  await page.getByRole('link', { name }).click();

  // Edit: an invalid currency is refused by the API and shown on its field.
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Edit campaign' })).toBeVisible();
  const currency = page.getByLabel('Currency (ISO 4217)');
  await currency.fill('E1');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Some fields need attention.' })).toBeVisible();
  await expect(currency).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#cf-currency-errors')).not.toBeEmpty();
  // A budget that is not a number is caught in the browser, on its field.
  await currency.fill('USD');
  await page.getByLabel('Total budget').fill('lots');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByLabel('Total budget')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#cf-budget_total-errors')).toContainText('must be a number');
  // Then correctly.
  await page.getByLabel('Total budget').fill('2500');
  await page.getByLabel('Name', { exact: true }).fill(`${name} (edited)`);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `${name} (edited)` })).toBeVisible();
  await expect(page.locator('dl.props')).toContainText(/2,500\.00|2 500,00|US\$|USD|\$2,500/);

  // Status: only the allowed steps are offered.
  const steps = page.getByRole('group', { name: 'Change status' }).getByRole('button');
  await expect(steps).toHaveText(['Schedule', 'Activate']);
  await page.getByRole('button', { name: 'Activate' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Status changed to active.' })).toBeVisible();
  await expect(page.locator('.page-head .status')).toHaveText(/active/i);
  await expect(steps).toHaveText(['Pause', 'Complete']);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.locator('.page-head .status')).toHaveText(/paused/i);
  await expect(steps).toHaveText(['Resume', 'Complete']);

  // Targeting: countries, devices, a frequency cap; saved across a reload.
  await page.getByRole('link', { name: 'Edit targeting' }).click();
  await expect(page.getByRole('heading', { name: 'Targeting' })).toBeVisible();
  await page.getByLabel(/^Countries/).fill('de, FR , us');
  await page.getByRole('checkbox', { name: 'mobile' }).check();
  await page.getByRole('checkbox', { name: 'tablet' }).check();
  await page.getByRole('checkbox', { name: 'Limit how often one person sees this campaign' }).check();
  await page.getByLabel('At most (1–1000)').fill('4');
  await page.getByLabel('Per', { exact: true }).selectOption('week');
  await page.getByRole('button', { name: 'Save targeting' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Targeting saved.' })).toBeVisible();

  await page.reload();
  await expect(page.getByRole('heading', { name: 'Targeting' })).toBeVisible();
  await expect(page.getByLabel(/^Countries/)).toHaveValue('DE, FR, US');
  await expect(page.getByRole('checkbox', { name: 'mobile' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'tablet' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'desktop' })).not.toBeChecked();
  await expect(page.getByLabel('At most (1–1000)')).toHaveValue('4');
  await expect(page.getByLabel('Per', { exact: true })).toHaveValue('week');

  // And the API agrees.
  const t = await tenant.api.json<{ countries: string[]; device_types: string[]; frequency_cap: { max: number; per: string } }>(
    `/campaigns/${campaignId}/targeting`,
  );
  expect(t.countries).toEqual(['DE', 'FR', 'US']);
  expect([...t.device_types].sort()).toEqual(['mobile', 'tablet']);
  expect(t.frequency_cap).toMatchObject({ max: 4, per: 'week' });
});

test('the campaigns list signs in with the shared helper and filters by name', async ({ page, tenant }) => {
  const a = uniq('Alpha');
  const b = uniq('Bravo');
  await tenant.api.createCampaign(a);
  await tenant.api.createCampaign(b);
  await login(page, tenant.admin);
  await expect(page.getByRole('link', { name: a })).toBeVisible();
  await expect(page.getByRole('link', { name: b })).toBeVisible();
  await page.getByLabel('Name contains').fill('Bravo');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByRole('link', { name: b })).toBeVisible();
  await expect(page.getByRole('link', { name: a })).toHaveCount(0);
  await expect(page.getByText('1 campaign · page 1')).toBeVisible();
});
