import { expect, login, navigate, test, uniq, uniqEmail } from './support/fixtures';

test('an admin creates a user, creates an ingest key (secret shown once) and revokes it', async ({ page, tenant, server, browser }) => {
  const campaignId = await tenant.api.createCampaign(uniq('Keyed campaign'));
  await tenant.api.setStatus(campaignId, 'active');
  await login(page, tenant.admin);
  await navigate(page, 'Admin');
  await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();

  // A user.
  const email = uniqEmail('manager');
  const password = 'manager-password-1234';
  const users = page.getByRole('region', { name: 'Users' });
  await users.getByLabel('Email').fill(email);
  await users.getByLabel(/^Initial password/).fill(password);
  await users.getByLabel('Role').selectOption('campaign_manager');
  await users.getByRole('button', { name: 'Create user' }).click();
  await expect(users.getByRole('status')).toHaveText(`User ${email} created.`);
  const row = users.getByRole('row').filter({ hasText: email });
  await expect(row).toContainText(/campaign manager/i);
  await expect(row).toContainText('active');
  // They can sign in.
  const ctx = await browser.newContext();
  try {
    const other = await ctx.newPage();
    await login(other, { email, password });
    await expect(other.getByRole('link', { name: 'New campaign' })).toBeVisible();
  } finally {
    await ctx.close();
  }

  // Not oneself (the API would refuse); the new user, yes, and then they cannot sign in.
  const me = users.getByRole('row').filter({ hasText: tenant.admin.email });
  await expect(me.getByRole('button', { name: /Deactivate/ })).toHaveCount(0);
  page.once('dialog', (d) => void d.accept());
  await row.getByRole('button', { name: `Deactivate ${email}` }).click();
  await expect(users.getByRole('status')).toHaveText(`${email} deactivated.`);
  await expect(row).toContainText('deactivated');
  const refused = await fetch(`${server.baseURL}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(refused.status).toBe(401);

  // A key: the secret is shown once and works at the gateway.
  const keys = page.getByRole('region', { name: 'Ingest keys' });
  await keys.getByLabel('What the key is for').fill('Ad server EU');
  await keys.getByRole('button', { name: 'Create key' }).click();
  const once = keys.getByRole('alert').filter({ hasText: 'It is shown this once' });
  await expect(once).toContainText('Copy the secret of “Ad server EU” now.');
  const secret = (await once.getByLabel('Secret').textContent())!.trim();
  expect(secret).toMatch(/^adp_[0-9a-f]{32,}$/);
  const keyRow = keys.getByRole('row').filter({ hasText: 'Ad server EU' });
  await expect(keyRow).toContainText('active');
  await expect(keyRow).toContainText(secret.slice(0, 8));

  const send = () =>
    fetch(`${server.gatewayURL}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        event_id: crypto.randomUUID(),
        type: 'impression',
        campaign_id: campaignId,
        ad_id: 'creative-42',
        channel: 'display',
        occurred_at: new Date().toISOString(),
        cost_micros: 1,
      }),
    }).then((r) => r.status);
  expect(await send()).toBe(202);

  await once.getByRole('button', { name: 'I have stored it' }).click();
  await expect(once).toBeHidden();
  await page.reload();
  await expect(keys.getByRole('row').filter({ hasText: 'Ad server EU' })).toBeVisible();
  await expect(page.getByText(secret)).toHaveCount(0);

  // Revoke it (the console asks first).
  page.once('dialog', (d) => {
    expect(d.message()).toContain('Revoke “Ad server EU”?');
    void d.accept();
  });
  await keyRow.getByRole('button', { name: 'Revoke Ad server EU' }).click();
  await expect(keyRow).toContainText('revoked');
  await expect(keyRow.getByRole('button', { name: /Revoke/ })).toHaveCount(0);
  await expect.poll(send, { timeout: 30_000, message: 'the gateway refuses a revoked key' }).toBe(401);
});
