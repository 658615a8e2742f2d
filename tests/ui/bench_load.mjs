// SPDX-License-Identifier: MIT
//
// The web interface's speed against a large log (tests/bench/ui.sh): the page's load time in
// headless chromium (from navigation to the page drawn with its data), and each API call's
// latency (node's fetch on a kept-alive connection), as median and 99th percentile.
//
//   node bench_load.mjs --chromium PATH --link LOGIN_LINK [--loads N] [--calls N]

import { chromium } from 'playwright-core';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const loads = Number(args.loads || 20);
const calls = Number(args.calls || 100);
const base = new URL(args.link).origin;

function pct(values, p) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}
const f1 = (x) => x.toFixed(1);

const browser = await chromium.launch({ executablePath: args.chromium, headless: true });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
await page.goto(args.link);
const drawn = () => !document.querySelector('#main .loading') && document.querySelectorAll('#main section').length > 3 &&
  document.getElementById('whoami').textContent.length > 0;
await page.waitForFunction(drawn, null, { timeout: 60000 });
const times = [];
for (let i = 0; i < loads; i++) {
  const t0 = performance.now();
  await page.goto(`${base}/`);
  await page.waitForFunction(drawn, null, { timeout: 60000 });
  times.push(performance.now() - t0);
}
console.log(`page load (navigation to the page drawn with its data), ${loads} loads: ` +
  `median ${f1(pct(times, 50))} ms, p99 ${f1(pct(times, 99))} ms, max ${f1(Math.max(...times))} ms`);

const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
const session = await (await fetch(`${base}/api/session`, { headers: { cookie } })).json();
const month = new Date().toISOString().slice(0, 7);
const gets = ['session', 'status', 'steps', 'report/orders', 'report/orders?office=office-1',
  'report/orders?match=sn-b00012&limit=51', 'report/stock', 'report/handovers', 'report/offices',
  'report/alerts', 'report/conflicts', 'report/directory', 'report/appointments', `report/invoice?month=${month}`];
for (const g of gets) {
  const t = [];
  let bytes = 0;
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const r = await fetch(`${base}/api/${g}`, { headers: { cookie } });
    const body = await r.arrayBuffer();
    t.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`${g}: ${r.status}`);
    bytes = body.byteLength;
  }
  console.log(`GET /api/${g}: median ${f1(pct(t, 50))} ms, p99 ${f1(pct(t, 99))} ms (${bytes} bytes)`);
}
const t = [];
for (let i = 0; i < calls; i++) {
  const order = `B${String(i).padStart(7, '0')}`;
  const t0 = performance.now();
  const r = await fetch(`${base}/api/step/pin.sent`, {
    method: 'POST', headers: { cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/json' },
    body: JSON.stringify({ order }),
  });
  await r.arrayBuffer();
  t.push(performance.now() - t0);
  if (r.status !== 200) throw new Error(`pin.sent ${order}: ${r.status}`);
}
console.log(`POST /api/step/pin.sent (a write): median ${f1(pct(t, 50))} ms, p99 ${f1(pct(t, 99))} ms`);
await browser.close();
