// SPDX-License-Identifier: MIT
//
// README's demo as a newcomer meets it, in headless chromium: Storuman's login link, then card
// DEMO-1 walked through the page's forms from the postal notice to the hand-over, with the
// serial the demo prints; then the hub's page shows the hand-over in its invoice basis.
//
//   node demo.mjs --chromium PATH --artifacts DIR --office LINK --hub LINK --serial SERIAL

import {
  args, runBrowser, ok, check, shot, collectErrors, stateOf, sectionShows, walkToBooked,
  tickHandoverChecks,
} from './lib.mjs';

// Storuman's hand-overs this month in the hub's invoice basis, as its page's API says.
async function hubCount(hub) {
  return hub.evaluate(async () => {
    const month = new Date().toISOString().slice(0, 7);
    const inv = await (await fetch(`/api/report/invoice?month=${month}`)).json();
    const r = inv.offices.find((o) => o.office === 'storuman');
    return r ? r.handovers : 0;
  });
}

await runBrowser(async (browser) => {
  const hub = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await hub.goto(args.hub);
  await hub.waitForSelector('#whoami:not(:empty)');
  const before = await hubCount(hub);
  ok(`the hub's page: Storuman has ${before} hand-over(s) this month`);

  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  const errors = collectErrors(page);
  await page.goto(args.office);
  await page.waitForSelector('#whoami:not(:empty)');
  await page.waitForFunction(() => /DEMO-1/.test(document.body.innerText), null, { timeout: 20000 });
  ok("Storuman's page shows card DEMO-1");
  await walkToBooked(page, 'DEMO-1');
  await page.getByRole('button', { name: 'Lämna ut kortet' }).first().click();
  await page.waitForSelector('#dlg[open]');
  await page.getByLabel('Kortets serienummer').fill(args.serial);
  await tickHandoverChecks(page);
  await page.click('#dlg-ok');
  await page.waitForFunction(() => !document.getElementById('dlg').open, null, { timeout: 10000 });
  check((await stateOf(page, 'DEMO-1')) === 'handed-over', 'DEMO-1 handed over through the page');
  await shot(page, 'demo-storuman-after-handover');

  for (let i = 0; i < 100 && (await hubCount(hub)) !== before + 1; i++) await hub.waitForTimeout(200);
  await hub.reload();
  const inv = await sectionShows(hub, 'Fakturaunderlag', `Storuman\\s+Organisation\\s+${before + 1}\\s`);
  ok(`the hub's invoice basis counts the hand-over: ${inv.slice(0, 220)}`);
  await shot(hub, 'demo-hub');
  check(errors.length === 0, 'no script error on the page', errors.join('; '));
});
