// SPDX-License-Identifier: MIT
//
// A card walked from the postal notice to the hand-over through the office's page in headless
// chromium, with the virtual card in the reader (tests/reader/ui-browser.sh starts pcscd, the
// virtual card and the daemon). The test puts cards in the reader itself, by writing the
// virtual card's commands into its FIFO, and watches the page's reader panel follow: no card;
// a card never shipped, refused in red with no hand-over button; the right card, in green,
// whose button records the hand-over. Exits non-zero on the first failure.
//
//   node reader.mjs --chromium PATH --artifacts DIR --office LINK --vcard FIFO --reader NAME --order ID
//        --wrong-cert DER --wrong-cplc HEX --right-cert DER --right-cplc HEX

import { appendFileSync } from 'node:fs';
import {
  args, runBrowser, ok, check, shot, collectErrors, stateOf, sectionShows, walkToBooked,
  tickHandoverChecks,
} from './lib.mjs';

const ORDER = args.order;
const PANEL = 'Kortläsaren';

// Commands to the virtual card, in order (it answers in its own log, which the page makes
// needless to read: the reader panel shows what the daemon read).
function vcard(...cmds) {
  appendFileSync(args.vcard, cmds.map((c) => `${c}\n`).join(''));
}

// The reader panel's box (green ok, red bad) of the card reader named --reader once it says
// text matching re; its class and text. (pcscd has two virtual readers: each has its box.)
async function panel(page, re) {
  const h = await page.waitForFunction(([title, reader, src]) => {
    const s = [...document.querySelectorAll('section')].find((x) => x.querySelector('h2')?.textContent.trim() === title);
    const r = s && [...s.querySelectorAll('.reader')].find((x) => x.querySelector('.reader-name')?.textContent.includes(reader));
    const box = r && r.querySelector('.box');
    return box && new RegExp(src).test(box.innerText) && { cls: box.className, text: box.innerText.replace(/\s+/g, ' ') };
  }, [PANEL, args.reader, re], { timeout: 20000 });
  return h.jsonValue();
}

await runBrowser(async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(args.office);
  await page.waitForSelector('#whoami:not(:empty)');
  ok('logged in at the office by the one-time link');

  const none = await panel(page, '^Inget kort i läsaren');
  ok(`no card in the reader: "${none.text}"`);
  await walkToBooked(page, ORDER);
  await sectionShows(page, 'Ersättning', '\\b0 kr\\b');

  // A card that was never shipped: a red refusal, no hand-over button.
  vcard(`cert ${args['wrong-cert']}`, `cplc ${args['wrong-cplc']}`, 'insert');
  const wrong = await panel(page, 'STOPP');
  await shot(page, 'reader-wrong-card');
  check(/\bbad\b/.test(wrong.cls) && /har inte skickats till något kontor/.test(wrong.text),
    'a card never shipped: the reader panel refuses it in red', `${wrong.cls}: ${wrong.text}`);
  check(await page.getByRole('button', { name: `Lämna ut kortet till beställning ${ORDER}` }).count() === 0,
    'no hand-over button for the wrong card');
  ok(`the refusal says: "${wrong.text}"`);

  // The order's card: green, with its button. The wrong card is taken out first, and the
  // panel seen empty (pcscd looks about every 400 ms: a quick swap would pass unseen).
  vcard('remove');
  await panel(page, '^Inget kort i läsaren');
  vcard(`cert ${args['right-cert']}`, `cplc ${args['right-cplc']}`, 'insert');
  const right = await panel(page, `stämmer med beställning ${ORDER}`);
  check(/\bok\b/.test(right.cls) && /HSA-id är kontrollerade/.test(right.text),
    "the order's card: the reader panel shows it in green, chip and holder checked", `${right.cls}: ${right.text}`);
  await shot(page, 'reader-right-card');
  await page.getByRole('button', { name: `Lämna ut kortet till beställning ${ORDER}` }).click();
  await page.waitForSelector('#dlg[open]');
  const hint = await page.locator('#dlg').innerText();
  check(/Serienumret kommer från kortet i läsaren/.test(hint), 'the dialog says the serial comes from the card in the reader');
  await tickHandoverChecks(page);
  await shot(page, 'reader-handover-form');
  await page.click('#dlg-ok');
  await page.waitForFunction(() => !document.getElementById('dlg').open, null, { timeout: 10000 });
  check((await stateOf(page, ORDER)) === 'handed-over', `${ORDER} is handed over from the reader panel`);
  const earned = await sectionShows(page, 'Ersättning', '\\b800 kr\\b');
  ok(`the earnings show the hand-over: ${earned.slice(0, 100)}`);
  await shot(page, 'reader-after-handover');

  // Taken out: the panel is empty again.
  vcard('remove');
  await panel(page, '^Inget kort i läsaren');
  ok('the card taken out: the panel says so');
  check(errors.length === 0, 'no script error on the page', errors.join('; '));
});
