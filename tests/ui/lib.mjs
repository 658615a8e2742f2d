// SPDX-License-Identifier: MIT
//
// What the browser tests (browser.mjs, reader.mjs, demo.mjs) share: their arguments, running
// chromium, ok/check lines, screenshots, the fit check, one step through the page's forms, and a
// card walked from the postal notice to a booked meeting.

import path from 'node:path';
import { chromium } from 'playwright-core';

// --name value pairs of the command line.
export const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];

export let failures = 0;
export function ok(what) {
  console.log(`ok - ${what}`);
}
// A check: "ok - what", or "FAIL - what: detail" and an exception that ends the test.
export function check(cond, what, detail = '') {
  if (cond) return ok(what);
  failures++;
  console.log(`FAIL - ${what}${detail ? `: ${detail}` : ''}`);
  throw new Error(what);
}
// The exit status of a test that caught e (or null): 1 after any failure.
function finish(e) {
  if (e && !failures) console.log(`FAIL - ${e.message}`);
  if (e) failures++;
  return failures ? 1 : 0;
}

// Run test(browser) in headless chromium (--chromium), then close it and exit: 0, or 1 after a
// failed check or anything thrown.
export async function runBrowser(test) {
  const browser = await chromium.launch({ executablePath: args.chromium, headless: true });
  let caught = null;
  try {
    await test(browser);
  } catch (e) {
    caught = e;
  }
  await browser.close();
  process.exit(finish(caught));
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(args.artifacts, `${name}.png`), fullPage: true });
}

// No horizontal scrolling at this size: the page fits.
export async function fits(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

// Script errors of the page, kept in the array returned; the loading errors of requests a test
// makes to be refused are not the page's errors.
export function collectErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && errors.push(m.text()));
  return errors;
}

// The state of order as the API says.
export async function stateOf(page, order) {
  return page.evaluate(async (o) => {
    const rows = await (await fetch('/api/report/orders')).json();
    return rows.find((r) => r.order_id === o).state;
  }, order);
}

// One step through the page's forms: the first button named label opens the dialog, fill()
// fills it in, the dialog's OK saves it, and the dialog closes.
export async function step(page, label, fill, what) {
  await page.getByRole('button', { name: label }).first().click();
  await page.waitForSelector('#dlg[open]');
  if (fill) await fill();
  await shot(page, `form-${what.replace(/[^a-z]+/gi, '-')}`);
  await page.click('#dlg-ok');
  await page.waitForFunction(() => !document.getElementById('dlg').open, null, { timeout: 10000 });
  ok(`${what}: the form saved`);
}

// The page's section headed title shows text matching re (a regexp source) within 35 s (the
// page reloads its reports every 30 s and after each step); its text.
export async function sectionShows(page, title, re) {
  const sec = await page.waitForFunction(([t, src]) => {
    const s = [...document.querySelectorAll('section')].find((x) => x.querySelector('h2')?.textContent.trim() === t);
    return s && new RegExp(src).test(s.innerText) && s.innerText;
  }, [title, re], { timeout: 35000 });
  return (await sec.jsonValue()).replace(/\s+/g, ' ');
}

// Walk order, shipped to the page's office, through the forms from the postal notice to a
// booked meeting at the office (the administrator's home must not be offered).
export async function walkToBooked(page, order) {
  await step(page, 'Avin har kommit', null, 'notice received');
  check((await stateOf(page, order)) === 'notice', `${order} is at the postal agent`);
  await step(page, 'Hämtat hos postombudet', null, 'collected');
  await step(page, 'Kortet är inlåst', async () => {
    await page.getByLabel('Kortet ligger inlåst', { exact: false }).check();
  }, 'stored locked');
  check((await stateOf(page, order)) === 'stored', `${order} is locked up`);
  await step(page, 'Boka tid', async () => {
    const kinds = await page.getByLabel('Typ av plats').locator('option').allInnerTexts();
    check(!kinds.some((k) => /Administratörens bostad/.test(k) && !/inte tillåtet/.test(k)),
      "the administrator's home is not offered as a place", kinds.join(' | '));
    await page.getByLabel('Typ av plats').selectOption('office');
    await page.getByLabel('Plats (adress eller beskrivning)').fill('Storgatan 1, receptionen');
  }, 'appointment booked');
}

// Tick the routine's three checks of a hand-over in the open dialog.
export async function tickHandoverChecks(page) {
  for (const l of ['Giltig legitimation kontrollerad', 'Rätt person', 'PIN-brev finns']) await page.getByLabel(l).check();
}
