// The web console's benchmark, all in one run in one headless Chromium
// (Debian's, started here with --remote-debugging-port; Playwright and
// Lighthouse both attach to it over CDP), against a running `adpulse up`
// whose tenant already holds the creatives (seed.mjs):
//   1. creatives: the console's /creatives next to the users' original page
//      (baseline.html, served from BASELINE_PORT), RUNS runs each, in
//      alternating order: first screen of thumbnails, DOM nodes, JS heap,
//      images requested, frames while scrolling from the first to the last
//      item;
//   2. lighthouse: 12.2.3, desktop preset, /campaigns, /campaigns/<id>/live
//      and /creatives, LH_RUNS runs each (cold HTTP cache, session cookie
//      kept); the initial JavaScript (gzip bytes of index.html's entry
//      script and modulepreloads, as served);
//   3. events: event to pixel on the live page, EVENTS events one at a time.
// Writes every sample and the medians to --out (JSON) and prints tables.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { Api, sendImpression, welcome } from './lib/api.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    api: { type: 'string' },
    gateway: { type: 'string' },
    data: { type: 'string' },
    'baseline-port': { type: 'string' },
    'cdp-port': { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    runs: { type: 'string', default: '5' },
    'lh-runs': { type: 'string', default: '3' },
    events: { type: 'string', default: '30' },
    'scroll-ms': { type: 'string', default: '10000' },
    'baseline-load-timeout': { type: 'string', default: '180' },
    only: { type: 'string', default: 'creatives,lighthouse,events' },
    kinds: { type: 'string', default: 'console,baseline' },
    binary: { type: 'string', default: '' },
    out: { type: 'string', default: join(HERE, 'results.json') },
  },
});
const API = o.api;
const RUNS = Number(o.runs);
const LH_RUNS = Number(o['lh-runs']);
const EVENTS = Number(o.events);
const SCROLL_MS = Number(o['scroll-ms']);
const ONLY = new Set(o.only.split(','));
const VIEWPORT = { width: 1350, height: 940 }; // Lighthouse's desktop screen
const w = welcome(o.data);
const api = new Api(API, w.admin_email, w.admin_password);
const log = (s) => process.stderr.write(`bench: ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const v = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const quantile = (xs, q) => {
  const v = [...xs].sort((a, b) => a - b);
  if (!v.length) return null;
  return v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)]; // nearest rank
};

// ---------------------------------------------------------------- browser
const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-default-browser-check', '--disable-extensions', '--mute-audio',
  `--window-size=${VIEWPORT.width},${VIEWPORT.height}`,
];
const profile = mkdtempSync(join(tmpdir(), 'adpulse-console-bench-'));
const chrome = spawn(o.chromium, [...CHROMIUM_FLAGS, `--remote-debugging-port=${o['cdp-port']}`,
  `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
let chromeErr = '';
chrome.stderr.on('data', (d) => { chromeErr = (chromeErr + d).slice(-4000); });
let baselineServer;
async function shutdown() {
  try { chrome.kill('SIGTERM'); } catch {}
  await sleep(300);
  try { chrome.kill('SIGKILL'); } catch {}
  try { baselineServer?.close(); } catch {}
  rmSync(profile, { recursive: true, force: true });
}
process.on('SIGTERM', () => shutdown().then(() => process.exit(143)));
process.on('SIGINT', () => shutdown().then(() => process.exit(130)));

async function cdpReady() {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${o['cdp-port']}/json/version`);
      if (r.ok) return r.json();
    } catch {}
    await sleep(100);
  }
  throw new Error(`Chromium did not open its DevTools port: ${chromeErr}`);
}

/** Logs in through the console's login page (the session cookie is set). */
async function loginPage(page) {
  await page.goto(`${API}/`, { waitUntil: 'domcontentloaded' });
  await page.locator('#login-email').fill(w.admin_email);
  await page.locator('#login-password').fill(w.admin_password);
  await page.locator('form.login-card button[type=submit]').click();
  await page.waitForURL((u) => u.pathname.startsWith('/campaigns'), { timeout: 30000 });
  await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: 30000 });
}

// ---------------------------------------------------------------- part 1
// Runs in the page from its first script: the first time every grid image
// in the viewport is complete with naturalWidth > 0 (and at least one is
// there), the next animation frame's time is the first screen painted.
function firstScreenProbe() {
  window.__fs = null;
  const visibleImgs = () => {
    const sc = document.querySelector('.grid-scroll');
    const sr = sc ? sc.getBoundingClientRect() : { top: 0, bottom: innerHeight };
    const top = Math.max(0, sr.top);
    const bottom = Math.min(innerHeight, sr.bottom);
    const out = [];
    // grid images are in reading order in the DOM: stop at the first below the viewport
    for (const img of document.querySelectorAll('[data-testid=creative-tile] img, #grid img')) {
      const r = img.getBoundingClientRect();
      if (r.top >= bottom) break;
      if (r.bottom > top && r.right > 0 && r.left < innerWidth) out.push(img);
    }
    return out;
  };
  window.__visibleImgs = visibleImgs;
  const tick = () => {
    const v = visibleImgs();
    if (v.length && v.every((i) => i.complete && i.naturalWidth > 0)) {
      requestAnimationFrame((t) => { window.__fs = { ms: t, visible: v.length }; });
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

// Scrolls the grid from the first item to the last over `ms` milliseconds
// (position = elapsed / ms of the scrollable height, clamped to what is
// there), then on until the last item is in view (the console loads pages
// as it goes), recording every requestAnimationFrame interval.
function scrollRun(ms) {
  return new Promise((resolve) => {
    const sc = document.querySelector('.grid-scroll') || document.scrollingElement;
    const lastInView = () => {
      const total = Number((document.querySelector('[aria-setsize]') || {}).getAttribute?.('aria-setsize') || 0);
      const last = total
        ? document.querySelector(`[aria-posinset="${total}"]`)
        : document.querySelector('#grid > .tile:last-child');
      if (!last) return false;
      const r = last.getBoundingClientRect();
      const top = sc === document.scrollingElement ? 0 : sc.getBoundingClientRect().top;
      const bottom = sc === document.scrollingElement ? innerHeight : sc.getBoundingClientRect().bottom;
      return r.top < bottom && r.bottom > top;
    };
    sc.scrollTop = 0;
    const intervals = [];
    let start = null;
    let prev = null;
    let fullHeight = null; // the console's grid grows as pages load
    const frame = (t) => {
      if (start === null) start = t;
      if (prev !== null) intervals.push(t - prev);
      prev = t;
      const p = Math.min(1, (t - start) / ms);
      const max = sc.scrollHeight - sc.clientHeight;
      // aim at the whole list's height when it is known (aria-setsize x row height)
      if (fullHeight === null) {
        const total = Number(document.querySelector('[aria-setsize]')?.getAttribute('aria-setsize') || 0);
        const row = document.querySelector('.grid-row');
        if (total && row) {
          const cols = row.querySelectorAll('[role=listitem]').length || 1;
          fullHeight = Math.ceil(total / cols) * 214 - sc.clientHeight; // ROW_HEIGHT
        }
      }
      sc.scrollTop = Math.min(max, p * Math.max(max, fullHeight || 0));
      const done = p >= 1 && lastInView();
      if (done || t - start > ms + 60000) {
        resolve({ intervals, durationMs: t - start, reachedLast: done, extraMs: Math.max(0, t - start - ms) });
        return;
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
}

// Control: the same scroll over an empty 200,000 px page, to show what
// frame pacing this headless Chromium gives on this machine with no work.
async function measureControl(browser, run) {
  const ctx = await browser.newContext({ viewport: VIEWPORT });
  const page = await ctx.newPage();
  try {
    await page.setContent('<div id="grid"><div class="tile" style="height:200000px"></div></div>');
    const s = await page.evaluate(scrollRun, SCROLL_MS);
    return {
      kind: 'control', run,
      scrollFrames: s.intervals.length,
      scrollWithin16_7: s.intervals.filter((x) => x <= 16.7).length / s.intervals.length,
      scrollUnder25: s.intervals.filter((x) => x < 25).length / s.intervals.length,
      scrollP95FrameMs: quantile(s.intervals, 0.95),
      scrollMs: s.durationMs,
    };
  } finally {
    await ctx.close();
  }
}

async function measureCreatives(browser, kind, run) {
  const ctx = await browser.newContext({ viewport: VIEWPORT });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  const sample = { kind, run };
  try {
    let url;
    if (kind === 'console') {
      await loginPage(page);
      url = `${API}/creatives`;
    } else {
      const token = await api.login();
      url = `http://127.0.0.1:${o['baseline-port']}/#api=${encodeURIComponent(API)}&token=${encodeURIComponent(token)}`;
    }
    let images = 0;
    let status429 = 0;
    let failed = 0;
    page.on('request', (r) => { if (r.resourceType() === 'image') images++; });
    page.on('response', (r) => { if (r.status() === 429) status429++; });
    page.on('requestfailed', (r) => { if (r.resourceType() === 'image') failed++; });
    await page.addInitScript(firstScreenProbe);
    const t0 = Date.now();
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__fs, null, { timeout: 120000, polling: 100 });
    const fs = await page.evaluate(() => window.__fs);
    sample.firstScreenMs = fs.ms;
    sample.visibleImages = fs.visible;
    // where the first screen's time went (resource timing, ms from navigation start)
    sample.breakdown = await page.evaluate(() => {
      const res = performance.getEntriesByType('resource');
      const end = (f) => { const e = res.filter(f); return e.length ? Math.max(...e.map((x) => x.responseEnd)) : null; };
      const first = (f) => res.find(f)?.responseEnd ?? null;
      const visible = new Set(window.__visibleImgs().map((i) => i.currentSrc));
      return {
        htmlMs: performance.getEntriesByType('navigation')[0]?.responseEnd ?? null,
        scriptsMs: end((e) => e.initiatorType === 'script' || e.name.endsWith('.js')),
        sessionMs: first((e) => e.name.includes('/api/v1/session')),
        firstListPageMs: first((e) => e.name.includes('/api/v1/creatives?')),
        lastListPageMs: end((e) => e.name.includes('/api/v1/creatives?')),
        visibleImagesLoadedMs: end((e) => visible.has(e.name)),
      };
    });
    // "after load": the load event, then the network quiet for 2 s (the
    // baseline's load event waits for all of its images, up to the timeout)
    const loadTimeout = kind === 'baseline' ? Number(o['baseline-load-timeout']) * 1000 : 60000;
    sample.loadEventReached = await page.waitForFunction(() => document.readyState === 'complete', null,
      { timeout: loadTimeout, polling: 200 }).then(() => true, () => false);
    let last = images;
    for (let quiet = 0; quiet < 4;) { // 4 x 500 ms without a new image request
      await sleep(500);
      quiet = images === last ? quiet + 1 : 0;
      last = images;
      if (Date.now() - t0 > loadTimeout + 60000) break;
    }
    sample.loadedAfterMs = Date.now() - t0;
    sample.domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    await cdp.send('HeapProfiler.collectGarbage');
    await sleep(200);
    const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    sample.jsHeapUsedMB = metrics.JSHeapUsedSize / 1e6;
    sample.imagesRequested = images;
    sample.imagesCompleteAtLoad = await page.evaluate(() =>
      [...document.querySelectorAll('[data-testid=creative-tile] img, #grid img')].filter((i) => i.complete && i.naturalWidth > 0).length);
    // scrolling, first item to last
    const before = images;
    const s = await page.evaluate(scrollRun, SCROLL_MS);
    const within = s.intervals.filter((x) => x <= 16.7).length;
    Object.assign(sample, {
      scrollFrames: s.intervals.length,
      scrollWithin16_7: within / s.intervals.length,
      // a missed vsync shows as an interval of ~33 ms: under 25 ms, no frame was dropped
      scrollUnder25: s.intervals.filter((x) => x < 25).length / s.intervals.length,
      scrollP95FrameMs: quantile(s.intervals, 0.95),
      scrollMaxFrameMs: Math.max(...s.intervals),
      scrollMs: s.durationMs,
      scrollReachedLast: s.reachedLast,
      scrollExtraMs: s.extraMs,
      imagesRequestedWhileScrolling: images - before,
      status429,
      imageRequestsFailed: failed,
    });
  } finally {
    await ctx.close();
  }
  return sample;
}

// ---------------------------------------------------------------- part 2
/** Bytes of `path` as served with Accept-Encoding: gzip (not decoded). */
function rawGet(path) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${API}${path}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, encoding: res.headers['content-encoding'] ?? null, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}
async function initialJs() {
  const { gunzipSync } = await import('node:zlib');
  const index = await rawGet('/');
  const html = (index.encoding === 'gzip' ? gunzipSync(index.body) : index.body).toString('utf8');
  const entries = [...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g)].map((m) => ({ kind: 'entry', path: m[1] }));
  const preloads = [...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => ({ kind: 'modulepreload', path: m[1] }));
  const files = [];
  for (const f of [...entries, ...preloads]) {
    const r = await rawGet(f.path);
    const raw = r.encoding === 'gzip' ? gunzipSync(r.body).length : r.body.length;
    files.push({ ...f, status: r.status, encoding: r.encoding, bytesOnWire: r.body.length, bytesDecoded: raw });
  }
  const css = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]);
  return {
    files,
    stylesheets: css,
    gzipBytes: files.reduce((s, f) => s + f.bytesOnWire, 0),
    decodedBytes: files.reduce((s, f) => s + f.bytesDecoded, 0),
    allGzip: files.every((f) => f.encoding === 'gzip'),
  };
}

async function lighthouseRuns(browser) {
  const { default: lighthouse } = await import('lighthouse');
  const { default: desktopConfig } = await import('lighthouse/core/config/desktop-config.js');
  // the session cookie in the browser's own profile, where Lighthouse's tabs open
  const ctx = browser.contexts()[0];
  const page = await ctx.newPage();
  await loginPage(page);
  const cdp = await ctx.newCDPSession(page);
  const pages = [
    ['campaigns', `${API}/campaigns`],
    ['live', `${API}/campaigns/${w.campaign}/live`],
    ['creatives', `${API}/creatives`],
  ];
  const samples = [];
  for (let run = 1; run <= LH_RUNS; run++) {
    for (const [name, url] of pages) {
      await cdp.send('Network.clearBrowserCache'); // cold HTTP cache, cookies kept
      const r = await lighthouse(url, {
        port: Number(o['cdp-port']),
        output: 'json',
        logLevel: 'error',
        disableStorageReset: true,
        onlyCategories: ['performance'],
      }, desktopConfig);
      const lhr = r.lhr;
      const a = lhr.audits;
      const s = {
        page: name, run, url,
        finalUrl: lhr.finalDisplayedUrl,
        score: Math.round((lhr.categories.performance.score ?? NaN) * 100),
        lcpMs: a['largest-contentful-paint']?.numericValue,
        fcpMs: a['first-contentful-paint']?.numericValue,
        tbtMs: a['total-blocking-time']?.numericValue,
        cls: a['cumulative-layout-shift']?.numericValue,
        speedIndexMs: a['speed-index']?.numericValue,
        runtimeError: lhr.runtimeError?.code ?? null,
        warnings: lhr.runWarnings,
      };
      samples.push(s);
      log(`lighthouse ${name} run ${run}: score ${s.score}, LCP ${s.lcpMs?.toFixed(0)} ms, TBT ${s.tbtMs?.toFixed(0)} ms${s.finalUrl !== url ? ` (ended at ${s.finalUrl})` : ''}`);
    }
  }
  await page.close();
  return samples;
}

// ---------------------------------------------------------------- part 3
async function eventToPixel(browser) {
  const ctx = await browser.newContext({ viewport: VIEWPORT });
  const page = await ctx.newPage();
  try {
    await loginPage(page);
    await page.goto(`${API}/campaigns/${w.campaign}/live`);
    await page.locator('dl[aria-label="Lifetime totals"] dd').first().waitFor({ timeout: 30000 });
    await page.locator('.badge-live').waitFor({ timeout: 30000 });
    await page.evaluate(() => {
      window.__changes = [];
      const dd = document.querySelector('dl[aria-label="Lifetime totals"] dd');
      let prev = dd.textContent;
      new MutationObserver(() => {
        const now = document.querySelector('dl[aria-label="Lifetime totals"] dd')?.textContent;
        if (now !== prev) { prev = now; window.__changes.push({ at: Date.now(), text: now }); }
      }).observe(document.querySelector('dl[aria-label="Lifetime totals"]'), { subtree: true, childList: true, characterData: true });
    });
    const samples = [];
    for (let i = 0; i < EVENTS; i++) {
      const seen = await page.evaluate(() => window.__changes.length);
      const accepted = await sendImpression(o.gateway, w.ingest_key, w.campaign);
      const change = await page.waitForFunction((n) => window.__changes[n], seen, { timeout: 15000, polling: 50 })
        .then((h) => h.jsonValue(), () => null);
      samples.push(change ? change.at - accepted : null);
      if (!change) log(`event ${i + 1}: no change on screen within 15 s`);
      await sleep(500 + Math.random() * 500);
    }
    return samples;
  } finally {
    await ctx.close();
  }
}

// ---------------------------------------------------------------- main
const results = {
  when: new Date().toISOString(),
  binary: o.binary,
  api: API,
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version, loadavgAtStart: readFileSync('/proc/loadavg', 'utf8').trim() },
  viewport: VIEWPORT,
};
try {
  // the baseline page, from another loopback origin
  const html = readFileSync(join(HERE, 'baseline.html'));
  baselineServer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  });
  await new Promise((r) => baselineServer.listen(Number(o['baseline-port']), '127.0.0.1', r));
  const version = await cdpReady();
  results.chromium = version.Browser;
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${o['cdp-port']}`);
  results.creativesTotal = (await api.call('GET', '/api/v1/creatives?limit=1')).total;
  log(`${version.Browser}; the tenant holds ${results.creativesTotal} creatives`);

  if (ONLY.has('creatives')) {
    results.creatives = [];
    for (let run = 1; run <= RUNS; run++) {
      const order = run % 2 ? ['console', 'baseline'] : ['baseline', 'console'];
      const c = await measureControl(browser, run);
      results.creatives.push(c);
      log(`control (empty page) run ${run}: scroll ${(100 * c.scrollWithin16_7).toFixed(1)}% of ${c.scrollFrames} frames <= 16.7 ms`);
      for (const kind of order.filter((k) => o.kinds.split(',').includes(k))) {
        const s = await measureCreatives(browser, kind, run);
        results.creatives.push(s);
        log(`creatives ${kind} run ${run}: first screen ${s.firstScreenMs.toFixed(0)} ms (${s.visibleImages} images), ` +
          `${s.domNodes} nodes, heap ${s.jsHeapUsedMB.toFixed(1)} MB, ${s.imagesRequested} images requested, ` +
          `scroll ${(100 * s.scrollWithin16_7).toFixed(1)}% of ${s.scrollFrames} frames <= 16.7 ms` +
          `${s.scrollReachedLast ? '' : ' (last item NOT reached)'}${s.status429 ? `, ${s.status429} x 429` : ''}`);
      }
    }
  }
  if (ONLY.has('lighthouse')) {
    results.initialJs = await initialJs();
    log(`initial JS: ${results.initialJs.gzipBytes} bytes gzip (${results.initialJs.files.length} files)`);
    results.lighthouse = await lighthouseRuns(browser);
  }
  if (ONLY.has('events')) {
    results.eventToPixel = await eventToPixel(browser);
  }
  await browser.close().catch(() => {});
} finally {
  await shutdown();
}

// ---------------------------------------------------------------- report
const fmt = (x, d = 0) => (x == null ? '—' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const summary = {};
const out = [];
if (results.creatives) {
  const by = (k) => results.creatives.filter((s) => s.kind === k);
  const m = (k, f) => median(by(k).map(f));
  const rows = [
    ['first screen of thumbnails, ms', (s) => s.firstScreenMs, 0, '≤ 800'],
    ['… session restored (console), ms', (s) => s.breakdown?.sessionMs, 0, ''],
    ['… first list page answered, ms', (s) => s.breakdown?.firstListPageMs, 0, ''],
    ['… last list page answered, ms', (s) => s.breakdown?.lastListPageMs, 0, ''],
    ['… first screen\'s images received, ms', (s) => s.breakdown?.visibleImagesLoadedMs, 0, ''],
    ['images in the first screen', (s) => s.visibleImages, 0, ''],
    ['DOM nodes after load', (s) => s.domNodes, 0, '≤ 400'],
    ['JS heap used after load and GC, MB', (s) => s.jsHeapUsedMB, 1, '≤ 30'],
    ['images requested by load', (s) => s.imagesRequested, 0, '≤ 2 × first screen'],
    ['frames ≤ 16.7 ms while scrolling, %', (s) => 100 * s.scrollWithin16_7, 1, '≥ 99'],
    ['frames < 25 ms (no vsync missed), %', (s) => 100 * s.scrollUnder25, 1, ''],
    ['frame p95 while scrolling, ms', (s) => s.scrollP95FrameMs, 1, ''],
    ['frames recorded while scrolling', (s) => s.scrollFrames, 0, ''],
    ['scroll time first → last item, ms', (s) => s.scrollMs, 0, `${SCROLL_MS} planned`],
    ['images requested while scrolling', (s) => s.imagesRequestedWhileScrolling, 0, ''],
  ];
  summary.creatives = {};
  out.push(`\nCreatives, ${results.creativesTotal} in the tenant, median of ${RUNS} runs (viewport ${VIEWPORT.width}×${VIEWPORT.height})\n`);
  out.push('| measure | adpulse /creatives | baseline (all at once, originals) | baseline / adpulse | control: empty page | target |');
  out.push('|---|---:|---:|---:|---:|---|');
  for (const [name, f, d, target] of rows) {
    const a = m('console', f);
    const b = m('baseline', f);
    const c = /frame|scroll time/.test(name) ? m('control', f) : null;
    summary.creatives[name] = { console: a, baseline: b, control: c };
    out.push(`| ${name} | ${fmt(a, d)} | ${fmt(b, d)} | ${a && b != null ? fmt(b / a, 2) + 'x' : '—'} | ${c == null ? '' : fmt(c, d)} | ${target} |`);
  }
  const pages = results.creatives.filter((s) => s.kind !== 'control');
  const notReached = pages.filter((s) => !s.scrollReachedLast).length;
  const r429 = pages.reduce((n, s) => n + s.status429, 0);
  const noLoad = pages.filter((s) => !s.loadEventReached).map((s) => `${s.kind} ${s.run}`);
  if (notReached) out.push(`\n${notReached} run(s) did not reach the last item within the scroll time + 60 s.`);
  if (r429) out.push(`${r429} responses were 429 (rate limited).`);
  if (noLoad.length) out.push(`No load event within the timeout: ${noLoad.join(', ')}.`);
}
if (results.lighthouse) {
  summary.lighthouse = {};
  out.push(`\nLighthouse 12.2.3, desktop preset (simulated throttling), median of ${LH_RUNS} runs each, cold HTTP cache, logged in\n`);
  out.push('| page | performance score | LCP ms | TBT ms | FCP ms | CLS | runs (score / LCP / TBT) |');
  out.push('|---|---:|---:|---:|---:|---:|---|');
  for (const p of ['campaigns', 'live', 'creatives']) {
    const s = results.lighthouse.filter((x) => x.page === p);
    const row = {
      score: median(s.map((x) => x.score)), lcpMs: median(s.map((x) => x.lcpMs)),
      tbtMs: median(s.map((x) => x.tbtMs)), fcpMs: median(s.map((x) => x.fcpMs)), cls: median(s.map((x) => x.cls)),
    };
    summary.lighthouse[p] = row;
    out.push(`| ${p} | ${fmt(row.score)} | ${fmt(row.lcpMs)} | ${fmt(row.tbtMs)} | ${fmt(row.fcpMs)} | ${fmt(row.cls, 3)} | ${s.map((x) => `${x.score} / ${fmt(x.lcpMs)} / ${fmt(x.tbtMs)}`).join(' · ')} |`);
  }
  out.push('\nTargets: score ≥ 95, LCP ≤ 1,000 ms, TBT ≤ 100 ms.');
  const j = results.initialJs;
  out.push(`\nInitial JavaScript (index.html's entry script + modulepreloads, as served): ${fmt(j.gzipBytes)} bytes gzip ` +
    `(${fmt(j.gzipBytes / 1024, 1)} KiB; ${fmt(j.decodedBytes)} bytes decoded; ${j.files.length} files${j.allGzip ? '' : ', NOT all gzip-encoded'}); target ≤ 200 KB.`);
  summary.initialJsGzipBytes = j.gzipBytes;
}
if (results.eventToPixel) {
  const v = results.eventToPixel.filter((x) => x != null);
  summary.eventToPixel = { n: v.length, missed: results.eventToPixel.length - v.length, p50: quantile(v, 0.5), p95: quantile(v, 0.95), max: Math.max(...v) };
  out.push(`\nEvent to pixel (gateway 202 → impressions total changed on the live page), ${v.length} events` +
    `${summary.eventToPixel.missed ? ` (${summary.eventToPixel.missed} never shown within 15 s)` : ''}: ` +
    `p50 ${fmt(summary.eventToPixel.p50)} ms, p95 ${fmt(summary.eventToPixel.p95)} ms, max ${fmt(summary.eventToPixel.max)} ms; target p95 ≤ 1,500 ms.`);
}
results.summary = summary;
results.machine.loadavgAtEnd = readFileSync('/proc/loadavg', 'utf8').trim();
out.push(`\nLoad average (1/5/15 min) at start ${results.machine.loadavgAtStart.split(' ').slice(0, 3).join(' ')}, at end ${results.machine.loadavgAtEnd.split(' ').slice(0, 3).join(' ')}; ${results.machine.cpus} cores; ${results.chromium}; binary ${o.binary}.`);
writeFileSync(o.out, JSON.stringify(results, null, 2));
console.log(out.join('\n'));
log(`results in ${o.out}`);
