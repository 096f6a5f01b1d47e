// Seeds a tenant with COUNT creatives through the API, as users upload
// them: generated 600x400 PNGs (lib/png.mjs) posted to
// POST /api/v1/campaigns/{id}/assets (multipart field `file`), a few at a
// time, spread round-robin over CAMPAIGNS campaigns. Resumable: counts
// what the tenant already holds and uploads the rest.
//   node seed.mjs --api URL --data DIR [--count 10000] [--campaigns 10] [--concurrency 4]
import { parseArgs } from 'node:util';
import { Api, welcome } from './lib/api.mjs';
import { creativePng } from './lib/png.mjs';

const { values: o } = parseArgs({
  options: {
    api: { type: 'string' },
    data: { type: 'string' },
    count: { type: 'string', default: '10000' },
    campaigns: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
  },
});
const count = Number(o.count);
const w = welcome(o.data);
const api = new Api(o.api, w.admin_email, w.admin_password);

// The campaigns: the demo one plus "Bench campaign N" up to --campaigns.
const listed = await api.call('GET', '/api/v1/campaigns?limit=100');
const campaigns = (listed.data ?? listed.items ?? listed).map((c) => c.id);
for (let i = campaigns.length; i < Number(o.campaigns); i++) {
  campaigns.push((await api.json('POST', '/api/v1/campaigns', { name: `Bench campaign ${i + 1}` })).id);
}
const have = (await api.call('GET', '/api/v1/creatives?limit=1')).total;
process.stderr.write(`seed: ${have} creatives already, ${Math.max(0, count - have)} to upload over ${campaigns.length} campaigns\n`);

let next = have;
let done = 0;
let bytes = 0;
const started = Date.now();
async function worker() {
  while (next < count) {
    const n = next++;
    const png = creativePng(n);
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), `creative-${String(n).padStart(5, '0')}.png`);
    await api.call('POST', `/api/v1/campaigns/${campaigns[n % campaigns.length]}/assets`, form);
    done++;
    bytes += png.length;
    if (done % 100 === 0 || next >= count) {
      const s = (Date.now() - started) / 1000;
      const left = count - have - done;
      process.stderr.write(
        `seed: ${have + done}/${count} uploaded, ${(done / s).toFixed(1)}/s, ` +
          `${Math.round(bytes / done / 1024)} KB average, ~${Math.round(left / (done / s))} s left\n`,
      );
    }
  }
}
await Promise.all(Array.from({ length: Number(o.concurrency) }, worker));
const total = (await api.call('GET', '/api/v1/creatives?limit=1')).total;
if (total < count) throw new Error(`seed: ${total} creatives after seeding, expected ${count}`);
process.stderr.write(`seed: done, ${total} creatives in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
