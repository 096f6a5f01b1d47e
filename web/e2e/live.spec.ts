import type { Locator, Page } from '@playwright/test';
import { expect, login, sendEvents, test, uniq } from './support/fixtures';

/** The figure of a term in the "Lifetime totals" list. */
function total(page: Page, term: string): Locator {
  return page.getByRole('definition').filter({ has: page.locator(`xpath=preceding-sibling::dt[1][normalize-space()="${term}"]`) });
}

/**
 * How far the line of a colour rises on the chart's canvas, in pixels: a
 * flat line (no events) spans a couple of rows, a line with points above
 * zero many.
 */
export async function lineRise(chart: Locator, rgb: [number, number, number]): Promise<number> {
  return chart.locator('canvas').evaluate((c: HTMLCanvasElement, [r, g, b]) => {
    const ctx = c.getContext('2d');
    if (!ctx) return 0;
    const { data, width, height } = ctx.getImageData(0, 0, c.width, c.height);
    let min = height;
    let max = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        if (Math.abs(data[i]! - r) < 40 && Math.abs(data[i + 1]! - g) < 40 && Math.abs(data[i + 2]! - b) < 40 && data[i + 3]! > 128) {
          if (y < min) min = y;
          if (y > max) max = y;
        }
      }
    }
    return max < 0 ? 0 : max - min;
  }, rgb);
}

test('events sent through the gateway move the live page', async ({ page, tenant, server }) => {
  const name = uniq('Live campaign');
  const id = await tenant.api.createCampaign(name);
  await tenant.api.setStatus(id, 'active');
  await login(page, tenant.admin);
  await page.goto(`/campaigns/${id}/live`);

  await expect(page.getByRole('heading', { level: 1, name: `Live: ${name}` })).toBeVisible();
  await expect(page.locator('.page-head').getByRole('status')).toHaveText('live');
  await expect(total(page, 'Impressions')).toHaveText('0');
  await expect(total(page, 'Clicks')).toHaveText('0');

  await sendEvents(server, tenant.ingestKey, id, [
    { type: 'impression', count: 12 },
    { type: 'click', count: 3 },
    { type: 'conversion', count: 1, revenue_micros: 5_000_000 },
  ]);
  // No reload: the stream brings the new numbers.
  await expect(total(page, 'Impressions')).toHaveText('12');
  await expect(total(page, 'Clicks')).toHaveText('3');
  await expect(total(page, 'Conversions')).toHaveText('1');
  await expect(total(page, 'Spend')).not.toHaveText(/^(—|0[.,]00|€0[.,]00)$/);

  const chart = page.getByRole('img', { name: 'The last hour in 5-second points' });
  await expect(chart).toBeVisible();
  await expect.poll(() => lineRise(chart, [11, 92, 173]), { message: 'impressions line above zero' }).toBeGreaterThan(20);

  // And again: the page keeps following.
  await sendEvents(server, tenant.ingestKey, id, [{ type: 'impression', count: 8 }]);
  await expect(total(page, 'Impressions')).toHaveText('20');
  await expect(page.locator('.page-head').getByRole('status')).toHaveText('live');
});

test('the live page reconnects when the stream fails', async ({ page, tenant, server }) => {
  const name = uniq('Flaky network');
  const id = await tenant.api.createCampaign(name);
  await tenant.api.setStatus(id, 'active');
  await login(page, tenant.admin);
  // The first two stream connections fail, as on a bad network.
  let attempts = 0;
  await page.route('**/realtime/stream?**', (route) => {
    attempts += 1;
    return attempts <= 2 ? route.abort('connectionreset') : route.continue();
  });
  await page.goto(`/campaigns/${id}/live`);
  const badge = page.locator('.page-head').getByRole('status');
  await expect(badge).toHaveText('reconnecting');
  await expect(badge).toHaveText('live', { timeout: 30_000 });
  expect(attempts).toBeGreaterThanOrEqual(3);
  await sendEvents(server, tenant.ingestKey, id, [{ type: 'click', count: 2 }]);
  await expect(total(page, 'Clicks')).toHaveText('2');
});
