// SPDX-License-Identifier: MIT
//
// The web interface in headless chromium (Debian's, driven by playwright-core), against the
// daemons tests/ui/browser.sh started: log in by the one-time link, see the office's page, walk
// a card through the forms, see the CSRF and cross-origin refusals, check accessibility with
// axe-core, keep screenshots. Exits non-zero on the first failure, saying what failed.
//
//   node browser.mjs --chromium PATH --artifacts DIR --office LINK --hub LINK --other URL

import { createRequire } from 'node:module';
import path from 'node:path';
import {
  args, runBrowser, ok, check, shot, fits, collectErrors, stateOf, sectionShows, walkToBooked,
  tickHandoverChecks,
} from './lib.mjs';

const require = createRequire(import.meta.url);
const origin = (link) => new URL(link).origin;
const OFFICE = origin(args.office);

async function axe(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('#whoami:not(:empty)');
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.length} × ${v.help}`);
  });
  await page.close();
  return result;
}

await runBrowser(async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = collectErrors(page);

  // ---- logging in ----
  const t0 = Date.now();
  await page.goto(args.office);
  check(new URL(page.url()).pathname === '/', 'the one-time link logs in and lands on the page', page.url());
  await page.waitForSelector('#whoami:not(:empty)');
  const loadMs = Date.now() - t0;
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'kn_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
  ok(`the office's page loaded in ${loadMs} ms`);
  await shot(page, 'office-1280x800');
  check(await fits(page), 'the office page fits 1280×800 without horizontal scrolling');

  const again = await browser.newContext();
  const p2 = await again.newPage();
  const resp = await p2.goto(args.office);
  check(resp.status() === 403, 'the same link a second time is refused', String(resp.status()));
  await again.close();

  // ---- CSRF and other origins ----
  const noToken = await page.evaluate(async () => {
    const r = await fetch('/api/step/notice.received', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"order":"A1"}',
    });
    return r.status;
  });
  check(noToken === 403, 'a POST from the page without the CSRF token is refused', String(noToken));

  const other = await context.newPage();
  await other.goto(args.other);
  const cross = await other.evaluate(async (base) => {
    const out = {};
    try {
      const r = await fetch(`${base}/api/status`, { credentials: 'include' });
      out.read = `read ${r.status}`;
    } catch (e) {
      out.read = 'blocked';
    }
    try {
      await fetch(`${base}/api/step/notice.received`, {
        method: 'POST', mode: 'no-cors', credentials: 'include',
        headers: { 'Content-Type': 'text/plain' }, body: '{"order":"A1"}',
      });
      out.post = 'sent';
    } catch (e) {
      out.post = 'blocked';
    }
    return out;
  }, OFFICE);
  check(cross.read === 'blocked', 'another origin cannot read the API', cross.read);
  const state = await page.evaluate(async () => {
    const rows = await (await fetch('/api/report/orders')).json();
    return rows.find((r) => r.order_id === 'A1').state;
  });
  check(state === 'shipped', "another origin's POST (no-cors) changed nothing", state);
  await other.close();

  // ---- a card walked through the forms, from the postal notice to the hand-over ----
  const earnings = page.locator('section', { has: page.getByRole('heading', { name: 'Ersättning', exact: true }) });
  const before = await earnings.innerText();
  check(/\b0 kr\b/.test(before), 'the earnings show 0 kr before any hand-over', before.replace(/\s+/g, ' '));

  // ---- keyboard use: the first step's button is reached with Tab, shows its focus, opens its
  // form with Enter (focus inside), and Escape closes it, giving focus back to the button ----
  await page.locator('body').focus();
  let reached = null;
  for (let i = 0; i < 300 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => {
      const a = document.activeElement;
      if (!a || a.tagName !== 'BUTTON' || !a.textContent.trim().startsWith('Avin har kommit')) return null;
      const st = getComputedStyle(a);
      return { tabs: 0, outline: st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0 || st.boxShadow !== 'none' };
    });
    if (reached) reached.tabs = i + 1;
  }
  check(reached, "the first step's button is reached with the Tab key");
  check(reached.outline, 'the focused button shows a visible focus ring');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#dlg[open]');
  check(await page.evaluate(() => document.getElementById('dlg').contains(document.activeElement)),
    'Enter opens the form, with the focus inside it');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.getElementById('dlg').open);
  check(await page.evaluate(() => document.activeElement?.textContent.trim().startsWith('Avin har kommit')),
    'Escape closes the form and gives the focus back to the button');
  ok(`keyboard: ${reached.tabs} presses of Tab reach the first step`);

  await walkToBooked(page, 'A1');

  // A wrong card (the serial typed from another card) is refused, saying why; nothing written.
  await page.getByRole('button', { name: 'Lämna ut kortet' }).first().click();
  await page.waitForSelector('#dlg[open]');
  await page.getByLabel('Kortets serienummer').fill('SN-WRONG-9');
  await tickHandoverChecks(page);
  await page.click('#dlg-ok');
  await page.waitForFunction(() => document.getElementById('dlg-error').textContent.trim().length > 0);
  const refusal = await page.locator('#dlg-error').innerText();
  await shot(page, 'handover-wrong-card-refused');
  check((await stateOf(page, 'A1')) === 'stored', 'a wrong card is refused and nothing is written', refusal);
  ok(`the refusal says: ${refusal.replace(/\s+/g, ' ')}`);
  await page.getByLabel('Kortets serienummer').fill('SN-A1');
  await page.click('#dlg-ok');
  await page.waitForFunction(() => !document.getElementById('dlg').open, null, { timeout: 10000 });
  check((await stateOf(page, 'A1')) === 'handed-over', 'with the right card the hand-over is recorded');
  await shot(page, 'office-after-handover');
  await sectionShows(page, 'Ersättning', '\\b800 kr\\b');
  ok('the earnings now show the hand-over: 800 kr');

  // ---- a sealed file for the hub, saved from the page (for a USB stick) ----
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Spara en fil till navet på USB-minnet' }).click(),
  ]);
  await download.saveAs(path.join(args.artifacts, 'bundle-for-the-hub.knb'));
  ok(`the page saves a sealed file for the hub (${download.suggestedFilename()})`);

  // ---- smaller screens ----
  for (const [w, h] of [[1024, 600], [800, 600]]) {
    await page.setViewportSize({ width: w, height: h });
    await shot(page, `office-${w}x${h}`);
    check(await fits(page), `the office page fits ${w}×${h} without horizontal scrolling`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });

  // ---- accessibility (axe-core; CSP bypassed only to load axe itself) ----
  const a11y = await browser.newContext({ bypassCSP: true, storageState: await context.storageState() });
  const violations = await axe(a11y, `${OFFICE}/`);
  check(violations.length === 0, "axe-core finds no accessibility violation on the office's page", violations.join('; '));
  await a11y.close();

  // ---- the hub ----
  const hubContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const hub = await hubContext.newPage();
  await hub.goto(args.hub);
  await hub.waitForSelector('#whoami:not(:empty)');
  const invoice = await sectionShows(hub, 'Fakturaunderlag', '\\b800 kr\\b');
  ok(`the hub's invoice basis shows the office's hand-over: ${invoice.slice(0, 160)}`);
  const chart = await sectionShows(hub, 'Utlämningar över tid', 'senaste 12 veckorna: 1 totalt');
  ok(`the hub's chart of hand-overs per week counts it: ${chart.slice(0, 120)}`);
  await hub.getByLabel('Beställning, serienummer eller vårdgivare').fill('sn-a1');
  await hub.getByRole('button', { name: 'Sök', exact: true }).click();
  const found = await sectionShows(hub, 'Sök beställning', 'Träffar: 1\\.');
  check(/\bA1\b/.test(found) && /SN-A1/.test(found), "the hub's search finds A1 by its serial (asked of the daemon)", found);
  const dir = await sectionShows(hub, 'Katalogen över kortkontor', 'Organisation');
  const csv = await hub.evaluate(async () => {
    const r = await fetch('/api/report/directory?format=csv');
    return `${r.status} ${r.headers.get('content-type')} ${(await r.text()).split('\n')[0]}`;
  });
  check(/^200 text\/csv.*name,town,place,booking,days,kind,office$/.test(csv),
    "the hub's page shows the public directory, with its CSV for publishing", `${dir.slice(0, 120)} | ${csv}`);
  const offices = await sectionShows(hub, 'Kontor', '\\bo\\b');
  check(/\bo\b.*\b2\b/.test(offices), "the hub's list of offices gives office o's two administrators", offices);
  // ---- the USB stick both ways, through the pages: the office's file read in at the hub, and
  // the hub's file for the office read in at the office ----
  async function readIn(p, file) {
    await p.locator('#import-file').setInputFiles(file);
    await p.getByRole('button', { name: 'Läs in filen' }).click();
    await p.waitForSelector('#import-result .box', { timeout: 20000 });
    return p.locator('#import-result').innerText();
  }
  const atHub = await readIn(hub, path.join(args.artifacts, 'bundle-for-the-hub.knb'));
  check(/är inläst/.test(atHub) && /made by node/.test(atHub), "the hub's page reads in the office's file", atHub);
  const [forOffice] = await Promise.all([
    hub.waitForEvent('download'),
    hub.getByRole('link', { name: /^Spara fil till / }).first().click(),
  ]);
  const officeFile = path.join(args.artifacts, 'bundle-for-the-office.knb');
  await forOffice.saveAs(officeFile);
  const atOffice = await readIn(page, officeFile);
  check(/är inläst/.test(atOffice), "the office's page reads in the hub's file for it", atOffice);
  ok(`a file both ways by USB stick through the pages (${forOffice.suggestedFilename()})`);
  const junk = path.join(args.artifacts, 'not-a-bundle.knb');
  (await import('node:fs')).writeFileSync(junk, 'not a bundle\n');
  const refused = await readIn(page, junk);
  check(/lästes inte in/.test(refused) && /nothing was imported/.test(refused),
    'a file that is no bundle is refused, saying why', refused);
  await shot(page, 'office-import-refused');
  await shot(hub, 'hub-1280x800');
  check(await fits(hub), 'the hub page fits 1280×800');
  const hubA11y = await browser.newContext({ bypassCSP: true, storageState: await hubContext.storageState() });
  const hubViolations = await axe(hubA11y, `${origin(args.hub)}/`);
  check(hubViolations.length === 0, "axe-core finds no accessibility violation on the hub's page", hubViolations.join('; '));

  check(errors.length === 0, 'no script error on the page', errors.join('; '));
});
