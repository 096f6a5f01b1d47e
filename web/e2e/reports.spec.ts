import { readFile } from 'node:fs/promises';
import { expect, login, navigate, sendEvents, test, uniq, type Tenant } from './support/fixtures';

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function csvLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l !== '');
}

/** Waits until the report API counts what was sent (the worker writes within a few seconds). */
async function reportCounts(tenant: Tenant, id: string, impressions: number) {
  const today = isoDay(new Date());
  await expect
    .poll(
      async () =>
        (await tenant.api.json<{ totals: { impressions: number } }>(`/campaigns/${id}/reports?start_date=${today}&end_date=${today}`)).totals
          .impressions,
      { timeout: 30_000, message: 'the report counts the events' },
    )
    .toBe(impressions);
}

test('a campaign report: range and granularity, table, CSV equal to the API export; top campaigns rank', async ({
  page,
  tenant,
  server,
}) => {
  const big = uniq('Big spender');
  const small = uniq('Small spender');
  const bigId = await tenant.api.createCampaign(big);
  const smallId = await tenant.api.createCampaign(small);
  await tenant.api.setStatus(bigId, 'active');
  await tenant.api.setStatus(smallId, 'active');
  await sendEvents(server, tenant.ingestKey, bigId, [
    { type: 'impression', count: 10, channel: 'display', cost_micros: 2000 },
    { type: 'impression', count: 5, channel: 'social', cost_micros: 2000 },
    { type: 'click', count: 3, channel: 'display', cost_micros: 50_000 },
    { type: 'conversion', count: 1, channel: 'social', cost_micros: 0, revenue_micros: 9_000_000 },
  ]);
  await sendEvents(server, tenant.ingestKey, smallId, [{ type: 'impression', count: 4, channel: 'display', cost_micros: 1000 }]);
  await reportCounts(tenant, bigId, 15);
  await reportCounts(tenant, smallId, 4);

  await login(page, tenant.admin);
  await navigate(page, 'Reports');
  await expect(page.getByRole('heading', { level: 1, name: 'Reports' })).toBeVisible();
  await expect(page.getByText('Choose a campaign to see its report.')).toBeVisible();
  await page.getByLabel('Campaign').selectOption({ label: `${big} (active)` });

  // A range that ends before it starts: the API's complaint is shown on the field.
  await page.getByLabel('From').fill(isoDay(new Date()));
  await page.getByLabel('Until (inclusive)').fill(isoDay(new Date(Date.now() - 86_400_000)));
  await page.getByRole('button', { name: 'Show report' }).click();
  await expect(page.locator('#rp-end-errors')).toContainText('must not be before start_date');
  await expect(page.getByLabel('Until (inclusive)')).toHaveAttribute('aria-invalid', 'true');

  // The last three days by hour, broken down by channel.
  const end = new Date();
  const start = new Date(end.getTime() - 2 * 86_400_000);
  await page.getByLabel('From').fill(isoDay(start));
  await page.getByLabel('Until (inclusive)').fill(isoDay(end));
  await page.getByLabel('Granularity').selectOption('hour');
  await page.getByLabel('Breakdown').selectOption('channel');
  await page.getByRole('button', { name: 'Show report' }).click();

  const summary = page.getByText(/\d+ rows · .* · UTC · hour/);
  await expect(summary).toContainText(`${isoDay(start)} to ${isoDay(end)}`);
  const table = page.getByRole('table', { name: 'Report rows' });
  await expect(table.getByRole('columnheader', { name: 'Channel' })).toBeVisible();
  const body = table.locator('tbody tr');
  await expect(body).toHaveCount(2); // this hour: display and social
  await expect(body.filter({ hasText: 'display' })).toHaveCount(1);
  await expect(body.filter({ hasText: 'social' })).toHaveCount(1);
  const foot = table.locator('tfoot tr');
  await expect(foot.getByRole('rowheader')).toHaveText('Total');
  await expect(foot.locator('td.num').first()).toHaveText('15');
  await expect(page.getByRole('img', { name: 'Impressions, clicks and conversions per period' })).toBeVisible();

  // The CSV the console downloads is the API's export of the same query.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
  expect(download.suggestedFilename()).toMatch(/\.csv$/);
  const downloaded = await readFile(await download.path(), 'utf8');
  const q = new URLSearchParams({
    format: 'csv',
    start_date: isoDay(start),
    end_date: isoDay(end),
    granularity: 'hour',
    breakdown: 'channel',
  });
  const fromApi = await tenant.api.text(`/campaigns/${bigId}/reports/export?${q}`);
  const lines = csvLines(downloaded);
  expect(lines).toEqual(csvLines(fromApi));
  // Fixed columns; the breakdown not asked for stays empty.
  expect(lines[0]).toMatch(/^period,channel,event_type,impressions,clicks,conversions,spend_micros,/);
  expect(lines).toHaveLength(1 + 2); // header + the table's rows
  const display = lines.find((l) => l.split(',')[1] === 'display')!.split(',');
  expect(display.slice(2, 6)).toEqual(['', '10', '3', '0']);

  // Day granularity, no breakdown: one row for today.
  await page.getByLabel('Granularity').selectOption('day');
  await page.getByLabel('Breakdown').selectOption('');
  await page.getByRole('button', { name: 'Show report' }).click();
  await expect(page.getByText(/ · UTC · day$/)).toBeVisible();
  await expect(body).toHaveCount(1); // the API lists only periods with events: today
  await expect(body.filter({ hasText: isoDay(end) }).locator('td.num').first()).toHaveText('15');

  // Top campaigns: ranked by spend, then by impressions on a click.
  await page.getByRole('link', { name: 'Top campaigns →' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Top campaigns' })).toBeVisible();
  const ranked = page.getByRole('table').locator('tbody tr');
  await expect(ranked).toHaveCount(2);
  await expect(ranked.nth(0)).toContainText(big);
  await expect(ranked.nth(0).locator('td').first()).toHaveText('1');
  await expect(ranked.nth(1)).toContainText(small);
  await expect(page.getByRole('columnheader', { name: /Spend/ })).toHaveAttribute('aria-sort', 'descending');
  await page.getByRole('button', { name: /^Impressions/ }).click();
  await expect(page.getByRole('columnheader', { name: /Impressions/ })).toHaveAttribute('aria-sort', 'descending');
  await expect(ranked.nth(0)).toContainText(big);
  await page.getByRole('button', { name: /^Impressions/ }).click();
  await expect(page.getByRole('columnheader', { name: /Impressions/ })).toHaveAttribute('aria-sort', 'ascending');
  await expect(ranked.nth(0)).toContainText(small);
});
