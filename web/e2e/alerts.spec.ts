import type { Page } from '@playwright/test';
import { expect, login, navigate, sendEvents, test, uniq } from './support/fixtures';
import { expectAccessible } from './support/axe';
import { Receiver, signedBy } from './support/receiver';

const row = (page: Page, n: string) => page.getByRole('group', { name: `Condition ${n}`, exact: true });

/** Creates a channel through the form; returns the secret the dialog showed once (webhooks). */
async function createChannel(page: Page, name: string, target: string): Promise<string> {
  await page.getByLabel('Channel name').fill(name);
  await page.getByLabel('Kind').selectOption('webhook');
  await page.getByLabel('Target').fill(target);
  await page.getByRole('button', { name: 'Create channel' }).click();
  const dialog = page.getByRole('dialog', { name: `Signing secret of “${name}”` });
  await expect(dialog).toBeVisible();
  const secret = await dialog.getByLabel('Signing secret').inputValue();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  return secret;
}

test('channels, a rule built with a nested group, its field errors, edits and its delivery log', async ({
  page,
  context,
  tenant,
  server,
}) => {
  test.setTimeout(180_000);
  const rx = await Receiver.start();
  try {
    const campaign = uniq('Alerted campaign');
    const campaignId = await tenant.api.createCampaign(campaign);
    await tenant.api.setStatus(campaignId, 'active');
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);

    await login(page, tenant.admin);
    await navigate(page, 'Alerts');
    await expect(page.getByRole('heading', { level: 1, name: 'Alerts' })).toBeVisible();
    await expect(page.getByText('No rules yet.')).toBeVisible();
    await expect(page.getByText('No channels yet.')).toBeVisible();
    await expectAccessible(page, 'the empty alerts page');

    // A webhook channel: its secret is shown once, in a dialog, and copies.
    const secret = await createChannel(page, 'Ops webhook', `${rx.url}/hook`);
    const dialog = page.getByRole('dialog', { name: 'Signing secret of “Ops webhook”' });
    await expectAccessible(page, 'the secret dialog');
    await dialog.getByRole('button', { name: 'Copy secret' }).click();
    await expect(dialog.getByRole('status')).toHaveText('Copied to the clipboard.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await dialog.getByRole('button', { name: 'I have stored it' }).click();
    await expect(dialog).toBeHidden();
    const channels = page.getByRole('table', { name: 'Channels' });
    await expect(channels.getByRole('row', { name: /Ops webhook/ })).toContainText(`${rx.url}/hook`);
    // Never shown again: not on the page, not in the API's answers.
    await expect(page.getByText(secret)).toHaveCount(0);
    expect(JSON.stringify(await tenant.api.json('/alert-channels'))).not.toContain(secret);
    // A second receiver path that fails, for the dead letters below.
    rx.answer('/broken', 500);
    await createChannel(page, 'Broken hook', `${rx.url}/broken`);
    await page.getByRole('button', { name: 'I have stored it' }).click();

    // The rule builder: ALL of (impressions ≥ 1, ANY of (clicks ≥ 2.5, budget exhausted)).
    const rule = uniq('Clicks arrive');
    await page.getByRole('link', { name: 'New rule' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'New alert rule' })).toBeVisible();
    await page.getByLabel('Name', { exact: true }).fill(rule);
    await page.getByLabel('One campaign').check();
    await page.getByLabel('Campaign', { exact: true }).selectOption({ label: `${campaign} (active)` });
    await row(page, '1').getByLabel('Metric').selectOption('impressions');
    await row(page, '1').getByLabel('Operator').selectOption('>=');
    await row(page, '1').getByLabel('Value').fill('1');
    await expect(row(page, '1').getByText('count, whole number')).toBeVisible();
    await page.getByRole('button', { name: 'Add group to the condition' }).click();
    const group = page.getByRole('group', { name: 'Group 2', exact: true });
    await expect(group.getByLabel('Match')).toHaveValue('any');
    // The new group has the focus, its row is next: keyboard all the way.
    await expect(group.getByLabel('Match')).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(row(page, '2.1').getByLabel('Metric')).toBeFocused();
    await row(page, '2.1').getByLabel('Metric').selectOption('clicks');
    await row(page, '2.1').getByLabel('Operator').selectOption('>=');
    await row(page, '2.1').getByLabel('Value').fill('2.5');
    await group.getByRole('button', { name: 'Add budget check to group 2' }).click();
    await expect(row(page, '2.2').getByLabel('Budget exhausted')).toHaveValue('either');
    await page.getByRole('checkbox', { name: 'Ops webhook (webhook)' }).check();
    await page.getByRole('checkbox', { name: 'Broken hook (webhook)' }).check();
    await page.getByRole('button', { name: 'Create rule' }).click();

    // The API refuses 2.5 clicks; the message is on that row's value, not elsewhere.
    await expect(page.getByRole('alert').filter({ hasText: 'Some fields need attention.' })).toBeVisible();
    const bad = row(page, '2.1').getByLabel('Value');
    await expect(bad).toHaveAttribute('aria-invalid', 'true');
    await expect(row(page, '2.1').locator('.field-errors')).toHaveText('clicks is a whole number');
    await expect(row(page, '1').getByLabel('Value')).not.toHaveAttribute('aria-invalid');
    await expectAccessible(page, 'the rule builder with a field error in a nested group');
    await bad.fill('1');
    await page.getByRole('button', { name: 'Create rule' }).click();

    // The rule's page.
    await expect(page.getByRole('heading', { level: 1, name: rule })).toBeVisible();
    const props = page.locator('dl.props');
    await expect(props).toContainText('Impressions today >= 1 and (Clicks today >= 1 or budget exhausted (total budget or daily cap))');
    await expect(props).toContainText(`Campaign ${campaign}`);
    await expect(props).toContainText('Ops webhook, Broken hook');
    await expect(page.getByText('The rule has not fired yet.')).toBeVisible();
    const ruleUrl = page.url();

    // Edit: the builder opens with the rule's rows; minutes convert; saved with If-Match.
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Edit alert rule' })).toBeVisible();
    await expect(row(page, '2.1').getByLabel('Metric')).toHaveValue('clicks');
    await expect(page.getByLabel('Cooldown', { exact: true })).toHaveValue('15');
    await expect(page.getByLabel('Cooldown unit')).toHaveValue('minutes');
    await page.getByLabel('Cooldown unit').selectOption('seconds');
    await expect(page.getByLabel('Cooldown', { exact: true })).toHaveValue('900');
    await page.getByLabel('Cooldown', { exact: true }).fill('600');
    await page.getByLabel('Name', { exact: true }).fill(`${rule} (edited)`);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByRole('heading', { level: 1, name: `${rule} (edited)` })).toBeVisible();
    await expect(props).toContainText('10 min');

    // In the list, with its scope and condition.
    await page.getByRole('link', { name: '← Alerts' }).click();
    const listed = page.getByRole('table', { name: 'Rules' }).getByRole('row', { name: new RegExp(`${rule} \\(edited\\)`) });
    await expect(listed).toContainText(`Campaign ${campaign}`);
    await expect(listed).toContainText('Impressions today >= 1 and (Clicks today >= 1 or budget exhausted');
    await expect(listed.getByRole('link', { name: `Edit ${rule} (edited)` })).toBeVisible();

    // A channel a rule notifies cannot be deleted: the dialog says which rule.
    await channels.getByRole('button', { name: 'Delete Ops webhook' }).click();
    const del = page.getByRole('dialog', { name: 'Delete channel?' });
    await del.getByRole('button', { name: 'Delete' }).click();
    await expect(del.getByRole('alert')).toContainText('“Ops webhook” is still notified by a rule.');
    await expect(del.getByRole('link', { name: `${rule} (edited)` })).toBeVisible();
    await expectAccessible(page, 'the channel-in-use dialog');
    await del.getByRole('button', { name: 'Close' }).last().click();
    await expect(del).toBeHidden();

    // Events through the gateway fire the rule; the receiver gets a signed webhook.
    await sendEvents(server, tenant.ingestKey, campaignId, [
      { type: 'impression', count: 3 },
      { type: 'click', count: 1 },
    ]);
    await expect.poll(() => rx.to('/hook').length, { timeout: 60_000, message: 'the webhook arrives' }).toBeGreaterThan(0);
    const hook = rx.to('/hook')[0]!;
    expect(signedBy(hook, secret)).toBe(true);
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'alert.fired', data: { rule: { name: `${rule} (edited)` }, state: 'firing' } });
    // The failing receiver is tried MAX_ATTEMPTS (3) times, then the delivery is a dead letter.
    await expect.poll(() => rx.to('/broken').length, { timeout: 30_000 }).toBe(3);

    await page.goto(ruleUrl);
    const log = page.getByRole('table', { name: 'Deliveries' });
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect(log.getByRole('row', { name: /Ops webhook/ })).toContainText('sent', { timeout: 1000 });
      await expect(log.getByRole('row', { name: /Broken hook/ })).toContainText('dead', { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    await expect(page.getByRole('table', { name: 'Firings' }).getByRole('row').nth(1)).toContainText('fired');
    await page.getByLabel('Status').selectOption('dead');
    await expect(log.locator('tbody tr')).toHaveCount(1);
    const dead = log.getByRole('row', { name: /Broken hook/ });
    await expect(dead).toContainText('answered 500');
    await expectAccessible(page, 'the rule page with its delivery log');

    // Its attempt log.
    await dead.getByRole('button', { name: /^3 attempts/ }).click();
    const attempts = page.getByRole('dialog', { name: 'Delivery to Broken hook' });
    await expect(attempts.getByRole('table', { name: 'Attempts' }).locator('tbody tr')).toHaveCount(3);
    await expect(attempts.getByRole('table', { name: 'Attempts' }).locator('tbody tr').first()).toContainText('500');
    await expectAccessible(page, 'the attempt log');
    await page.keyboard.press('Escape');
    await expect(attempts).toBeHidden();

    // The receiver is fixed; the dead letter is replayed and arrives, with the same id.
    rx.answer('/broken', 204);
    await dead.getByRole('button', { name: /^Replay/ }).click();
    await expect(page.getByText('Replayed: the delivery is pending again.')).toBeVisible();
    await expect.poll(() => rx.to('/broken').length, { timeout: 30_000 }).toBe(4);
    const ids = new Set(rx.to('/broken').map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    await page.getByLabel('Status').selectOption('sent');
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect(log.getByRole('row', { name: /Broken hook/ })).toContainText('sent', { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
  } finally {
    await rx.stop();
  }
});

test('an analyst reads rules, channels and deliveries but changes nothing', async ({ page, tenant }) => {
  const channel = await tenant.api.json<{ id: string }>('/alert-channels', {
    method: 'POST',
    body: JSON.stringify({ name: 'Team inbox', kind: 'email', target: 'team@example.com' }),
  });
  const name = uniq('Watched by analysts');
  const rule = await tenant.api.json<{ id: string }>('/alert-rules', {
    method: 'POST',
    body: JSON.stringify({
      name,
      brand_id: 'acme',
      condition: { any: [{ metric: 'ctr', over: 'today', op: '<', value: 0.5 }, { budget_exhausted: 'daily' }] },
      channel_ids: [channel.id],
    }),
  });
  const analyst = await tenant.addUser('analyst');

  await login(page, analyst);
  await navigate(page, 'Alerts');
  const listed = page.getByRole('table', { name: 'Rules' }).getByRole('row', { name: new RegExp(name) });
  await expect(listed).toContainText('Brand acme');
  await expect(listed).toContainText('CTR today < 0.5 % or budget exhausted (daily cap)');
  await expect(page.getByRole('table', { name: 'Channels' })).toContainText('team@example.com');
  await expect(page.getByRole('link', { name: 'New rule' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: /^Edit/ })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Delete|Rotate/ })).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'New channel' })).toHaveCount(0);
  await expectAccessible(page, 'the alerts page of an analyst');

  await listed.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByText('No deliveries yet.')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Edit', exact: true })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Delete' })).toHaveCount(0);

  // Typed URLs do not open the builder.
  await page.goto('/alerts/new');
  await expect(page.getByRole('alert')).toHaveText('Your role cannot create or change alert rules.');
  await page.goto(`/alerts/${rule.id}/edit`);
  await expect(page.getByRole('alert')).toHaveText('Your role cannot create or change alert rules.');
});
