import type { Locator } from '@playwright/test';
import { expect, login, navigate, test, uniq } from './support/fixtures';
import { makeJpeg, makePng } from './support/images';

/** The tile of a creative by file name. */
function tile(page: import('@playwright/test').Page, filename: string): Locator {
  return page.getByTestId('creative-tile').filter({ has: page.getByText(filename, { exact: true }) });
}

async function naturalWidth(img: Locator): Promise<number> {
  await expect
    .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 15_000 })
    .toBeGreaterThan(0);
  return img.evaluate((el: HTMLImageElement) => el.naturalWidth);
}

test('upload creatives, see their thumbnails, a broken one as placeholder, delete one', async ({ page, tenant }) => {
  const campaign = uniq('Creatives campaign');
  const campaignId = await tenant.api.createCampaign(campaign);
  await login(page, tenant.admin);

  const files = [
    { name: 'banner-wide.png', mimeType: 'image/png', buffer: makePng(640, 200, [11, 92, 173], [26, 127, 55]) },
    { name: 'square.png', mimeType: 'image/png', buffer: makePng(300, 300, [179, 89, 0], [255, 214, 102]) },
    { name: 'skyscraper.jpg', mimeType: 'image/jpeg', buffer: await makeJpeg(page, 160, 600, 'SALE') },
    { name: 'leaderboard.jpg', mimeType: 'image/jpeg', buffer: await makeJpeg(page, 728, 90, '-30 %') },
  ];

  await navigate(page, 'Creatives');
  await expect(page.getByRole('heading', { level: 1, name: 'Creatives' })).toBeVisible();
  await expect(page.getByText('No creatives match.')).toBeVisible();

  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const panel = page.getByRole('form', { name: 'Upload creatives' });
  await panel.getByLabel('To campaign').selectOption({ label: `${campaign} (draft)` });
  await panel.getByLabel(/^Images/).setInputFiles(files);
  await expect(panel.getByRole('list', { name: 'Files' }).getByRole('listitem')).toHaveCount(files.length);
  await panel.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(panel.getByRole('status')).toHaveText(`${files.length} of ${files.length} uploaded.`, { timeout: 30_000 });

  // A file that is not an image is refused, with the API's reason on its line.
  await panel.getByLabel(/^Images/).setInputFiles([{ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are not pixels\n') }]);
  await panel.getByRole('button', { name: 'Upload', exact: true }).click();
  const failed = panel.getByRole('listitem').filter({ hasText: 'notes.png' }).locator('.error-text');
  await expect(failed).not.toBeEmpty();
  await expect(failed).not.toHaveText(/^failed$/);

  // Every thumbnail loads (a real decoded image, not just an element).
  await expect(page.getByText(`${files.length} creatives`, { exact: true })).toBeVisible();
  for (const f of files) {
    const img = tile(page, f.name).getByRole('img', { name: f.name });
    await expect(img).toBeVisible();
    expect(await naturalWidth(img), f.name).toBeGreaterThan(0);
  }
  await expect(tile(page, 'banner-wide.png')).toContainText('640×200');
  await expect(tile(page, 'skyscraper.jpg')).toContainText('160×600');

  // A thumbnail that cannot be fetched shows the placeholder, the others still load.
  const listed = await tenant.api.json<{ data: { id: string; filename: string }[] }>(`/creatives?campaign_id=${campaignId}`);
  const broken = listed.data.find((a) => a.filename === 'square.png')!;
  await page.route(`**/assets/${broken.id}/**`, (route) => route.abort());
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Creatives' })).toBeVisible();
  await expect(tile(page, 'square.png').getByRole('img', { name: 'No preview for square.png' })).toHaveText('No preview');
  expect(await naturalWidth(tile(page, 'banner-wide.png').getByRole('img', { name: 'banner-wide.png' }))).toBeGreaterThan(0);
  await page.unroute(`**/assets/${broken.id}/**`);

  // Delete one through its dialog.
  await tile(page, 'leaderboard.jpg').click();
  const dialog = page.getByRole('dialog', { name: 'leaderboard.jpg' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('728×90 px');
  expect(await naturalWidth(dialog.getByRole('img', { name: 'leaderboard.jpg' }))).toBeGreaterThan(0);
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText(`${files.length - 1} creatives`, { exact: true })).toBeVisible();
  await expect(tile(page, 'leaderboard.jpg')).toHaveCount(0);
  const after = await tenant.api.json<{ data: { filename: string }[] }>(`/creatives?campaign_id=${campaignId}`);
  expect(after.data.map((a) => a.filename).sort()).toEqual(['banner-wide.png', 'skyscraper.jpg', 'square.png']);
});
