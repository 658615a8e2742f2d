/* SPDX-License-Identifier: MIT */
/*
 * kortnod's web page: "today" for the ID administrators of an office (or a mobile node), and the
 * whole country on one screen for the hub. Plain ES2020, no framework, no build step, nothing
 * from the network: the daemon serves this file with Content-Security-Policy default-src 'self',
 * so there is no inline script or style anywhere, and every text is in DICT below (sv, en).
 *
 * The API (same origin, session cookie; every POST sends X-CSRF-Token and JSON):
 *   GET  /api/session, /api/status, /api/steps, /api/report/{orders,stock,alerts,conflicts,
 *        directory,invoice}; POST /api/step/<event type> {fields} -> {"ok":true,"seq":N} or
 *        409/400/403 {"error":"<reason, English>"}.
 *
 * Sample responses (kortnod report ... --json on a test hub and office):
 *   /api/session  {"node":{"id":"6bc04ecf…","name":"Storuman","role":"office",
 *                  "office":"storuman"},"csrf":"9f2c…"}
 *   /api/report/orders  [{"order_id":"S5","office":"storuman","care_provider":"region-vb",
 *                  "card_type":"siths-e","state":"stored","serial":"SN-S5","failed_meetings":1,
 *                  "reason":""}]
 *   /api/report/stock  [{"office":"storuman","kind":"organisation","status":"open","ordered":1,
 *                  "in_transit":1,"notice_waiting":1,"locked_storage":3,"handed_over":1}]
 *   /api/report/alerts  [{"alert":"receipt-not-archived","office":"storuman","subject":"R1",
 *                  "detail":"receipt K1 of 2026-11-24 not archived"}]
 *   /api/report/conflicts  [{"author":"<64 hex>","seq":19,"type":"notice.received",
 *                  "status":"conflict","reason":"order S1 is revoked; notice.received cannot follow"}]
 *   /api/report/directory  [{"name":"Kortombud Arjeplog","town":"Arjeplog","place":"Storgatan 3",
 *                  "booking":"https://arjeplog.example/boka","days":"tue,thu","kind":"private",
 *                  "office":"arjeplog"}]
 *   /api/report/invoice?month=2026-11  {"month":"2026-11","offices":[{"office":"arjeplog",
 *                  "kind":"private","handovers":2,"extra_meetings":1,"amount_sek":1250,
 *                  "vat_sek":0,"issued_sek":null}],"care_providers":[{"care_provider":"region-nb",
 *                  "cards":2,"amount_sek":1600,"vat_sek":400,"total_sek":2000}]}
 *   /api/status  {"daemon_running":true,"lan":null,"hub":{"node":"…","last_contact_ms":1763…,
 *                  "path":"tcp","waiting":12,"connected":false},"peers":[{"node":"…","path":"tcp",
 *                  "addr":"10.0.0.2:7117","connected":false,"last_sync_ms":1763…,"entries_in":4,
 *                  "entries_out":9,"waiting":0,"forgotten":false}],"reader":{"service":"up",
 *                  "detail":"","readers":[{"name":"ACS ACR39U","card":{"chip":"40906A1B2C3D4E5F",
 *                  "matches":true,"order":"S4","match":"matches order S4 (chip)","since_ms":1763…}}]}}
 *
 *   /api/report/appointments  [{"appointment","order","office","at_ms","place_kind","place",
 *       "state"}]  (today's meetings; which stored cards are already booked)
 *   /api/report/offices  [{"office","name","town","kind","status","days","booking","admins",
 *       "notice_ends_ms"}]  (every office, listed or not: the hub's list)
 *   orders rows' "handed_over_ms" (hand-overs per week); /api/steps fields' "values" (an
 *   enum's allowed values).
 */
'use strict';

/* ------------------------------------------------------------------ texts */

const DICT = {
  sv: {
    'app.title': 'Kortnod – utlämning av SITHS-kort',
    'app.title.hub': 'Kortnod – navet',
    'skip': 'Hoppa till innehållet',
    'refresh': 'Uppdatera',
    'lang.other': 'English',
    'lang.switched': 'Sidan visas nu på svenska.',
    'nav.label': 'Avsnitt på sidan',
    'loading': 'Hämtar uppgifter …',
    'foot': 'Allt du registrerar sparas på den här datorn och skickas till navet vid nästa kontakt.',
    'foot.hub': 'Navet samlar det som kontoren registrerar. Kontoren får ändringarna vid nästa kontakt.',
    'save': 'Spara',
    'cancel': 'Avbryt',
    'close': 'Stäng',
    'yes': 'Ja',
    'no': 'Nej',
    'none': '–',
    'unknown': 'okänt',
    'whoami': '{name} · {role}',
    'whoami.office': '{name} · {role} · kontor {office}',
    'role.office': 'kontorsdator',
    'role.mobile': 'mobil administratör',
    'role.hub': 'navet (kortutgivaren)',
    'err.login': 'Du är inte inloggad. Öppna sidan med en ny inloggningslänk: skriv kortnod ui i ett terminalfönster på den här datorn.',
    'err.network': 'Kontakt med kortnod saknas just nu. Är programmet igång? Sidan försöker igen av sig själv.',
    'err.load': 'Kunde inte hämta {what}: {why}',
    'err.csrf': 'Sessionen har gått ut. Ladda om sidan och försök igen.',
    'err.step': 'Steget sparades inte: {why}',
    'err.step.raw': 'Steget sparades inte. Orsak (på engelska): {why}',
    'updated': 'Uppdaterat {time}.',
    'refreshing': 'Hämtar det senaste …',
    'today.date': 'Idag är det {date}.',

    // sections, office
    'sec.today': 'Idag',
    'sec.reader': 'Kortläsaren',
    'sec.meetings': 'Dagens möten',
    'sec.post': 'Post och avier',
    'sec.book': 'Inlåsta kort som väntar på bokning',
    'sec.rebook': 'Misslyckade möten att boka om',
    'sec.todo': 'Att åtgärda',
    'sec.reserve': 'Reservkort och katalogen (HSA)',
    'sec.earnings': 'Ersättning',
    'sec.cards': 'Alla kort',
    'sec.sync': 'Kontakt med navet',
    'sec.steps': 'Registrera ett annat steg',
    'sec.mine_conflicts': 'Steg som inte gick igenom',
    // sections, hub
    'sec.keys': 'Varningar om nycklar',
    'sec.overview': 'Läget i landet',
    'sec.offices': 'Kontor',
    'sec.directory': 'Katalogen över kortkontor',
    'import.label': 'Läs in en fil från USB-minnet',
    'import.button': 'Läs in filen',
    'import.choose': 'Välj först filen på USB-minnet.',
    'import.busy': 'Läser in {name} …',
    'import.done': 'Filen {name} är inläst: {n} nya poster.',
    'import.failed': 'Filen {name} lästes inte in. Inget ändrades.',
    'import.hint': 'En fil från navet (eller från ett annat kontor) som någon tagit med på ett USB-minne. Den är krypterad och kontrolleras hel innan något läses in.',
    'import.hint.hub': 'En fil från ett kontor som kom på ett USB-minne eller med posten. Den är krypterad och kontrolleras hel innan något läses in.',
    'col.file': 'Fil till datorn',
    'nodes.file': 'Spara fil',
    'nodes.file.for': 'Spara fil till {node}, för USB-minnet',
    'directory.desc': 'Den publika listan, som vårdgivarna ser den: öppna kontor (en organisation med minst två ID-administratörer). Ett nytt kontor kommer med så fort det uppfyller det.',
    'directory.none': 'Inget kontor är med i katalogen ännu.',
    'directory.csv': 'Ladda ner katalogen som CSV (för publicering)',
    'col.booking': 'Så bokar man',
    'col.name': 'Namn',
    'sec.stock': 'Kort per kontor',
    'sec.charts': 'Utlämningar över tid',
    'sec.alerts': 'Varningar',
    'sec.conflicts': 'Konflikter att lösa',
    'sec.invoice': 'Fakturaunderlag',
    'sec.nodes': 'Datorer och senaste kontakt',
    'sec.search': 'Sök beställning',

    // tiles
    'tile.meetings': 'Möten idag',
    'tile.collect': 'Att hämta hos postombudet',
    'tile.store': 'Att låsa in',
    'tile.book': 'Väntar på bokning',
    'tile.rebook': 'Att boka om',
    'tile.todo': 'Att åtgärda',
    'tile.notice': 'På väg – vänta på avi',
    'tile.offices': 'Kontor',
    'tile.waiting': 'Kort hos kontoren',
    'tile.alerts': 'Varningar',
    'tile.conflicts': 'Konflikter',
    'tile.keys': 'Nyckelvarningar',
    'tile.nodes_late': 'Datorer utan kontakt i 7 dagar',
    'today.nothing': 'Inget att göra just nu. Bra jobbat!',

    // reader
    'reader.none': 'Inget kort i läsaren.',
    'reader.match': 'Kort i läsaren: serienummer {serial}, stämmer med beställning {order}.',
    'reader.match.hsa': 'Chip och kortinnehavarens HSA-id är kontrollerade.',
    'reader.match.chip': 'Chipets nummer är kontrollerat.',
    'reader.handover': 'Lämna ut kortet till beställning {order}',
    'reader.nochip': 'Kortet i läsaren säger inget chipnummer. Välj beställningen för hand och kontrollera serienumret på kortet.',
    'reader.unknown': 'STOPP: Kortet i läsaren (chip {chip}) har inte skickats till något kontor. Lämna inte ut det.',
    'reader.wrongstate': 'STOPP: Kortet hör till beställning {order}, som är {state}. Det ska inte lämnas ut nu.',
    'reader.wrongholder': 'STOPP: Chipet hör till beställning {order}, men certifikatet på kortet är inte kortinnehavarens. Lämna inte ut kortet.',
    'reader.lookup': 'Kunde inte slå upp kortet: {why}',
    'reader.error': 'Kortet i läsaren gick inte att läsa: {why}. Ta ut kortet och sätt i det igen.',
    'reader.refused': 'STOPP: {why}',
    'reader.service.down': 'Kortläsartjänsten på datorn är inte igång.',
    'reader.service.starting': 'Kortläsartjänsten startar …',
    'reader.noreaders': 'Ingen kortläsare är ansluten. Sätt i kortläsaren i en USB-port.',
    'reader.off': 'Kortnod bevakar ingen kortläsare på den här datorn.',
    'reader.daemon': 'Kortnod körs inte, så kortläsaren visas inte.',
    'reader.name': 'Läsare: {name}',
    'reader.since': 'sedan {time}',
    'reader.help': 'Sätt kortet i läsaren innan du lämnar ut det: sidan kontrollerar att det är rätt kort.',

    // sync
    'sync.never': 'Ingen kontakt med navet ännu. {waiting} De skickas vid första anslutningen: via internet, ett annat kontor eller en fil på USB-minne.',
    'sync.connected': 'Ansluten till navet nu ({path}). {waiting}',
    'sync.last': 'Senaste kontakt med navet {ago} ({path}). {waiting}',
    'sync.waiting': '{n} händelser väntar; de skickas vid nästa anslutning.',
    'sync.waiting.one': '1 händelse väntar; den skickas vid nästa anslutning.',
    'sync.waiting.live': '{n} händelser skickas nu.',
    'sync.allsent': 'Allt är skickat.',
    'sync.bundle': 'Spara en fil till navet på USB-minnet',
    'sync.bundle.help': 'Filen är krypterad: den som hittar minnet kan inte läsa den. Skicka den till navet, som läser in den på sin sida (eller med kortnod bundle import).',
    'sync.nodaemon': 'Kortnod körs inte just nu: inget skickas eller tas emot. Det du registrerar sparas och skickas när programmet körs igen.',
    'sync.old': 'Det är länge sedan navet hördes av. Kontrollera internetanslutningen, eller skicka en fil med USB-minne.',
    'sync.hub': 'Navet: {connected} av {total} datorer anslutna nu; {late} har inte hörts av på 7 dagar.',
    'sync.lan.on': 'Lokalt nätverk: kortnod letar efter andra datorer i nätverket; {n} hittade.',
    'sync.lan.off': 'Lokalt nätverk: kortnod letar inte efter andra datorer i nätverket.',
    'path.tcp': 'via internet',
    'path.lan': 'via lokala nätverket',
    'path.bundle': 'via fil på USB-minne',
    'path.none': 'inget sätt ännu',
    'sync.peers': 'Andra datorer som den här har kontakt med',
    'sync.nopeers': 'Inga andra datorer ännu.',

    // states of an order
    'state.ordered': 'beställt',
    'state.shipped': 'skickat, väntar på avi',
    'state.notice': 'avi har kommit',
    'state.collected': 'hämtat, inte inlåst',
    'state.stored': 'inlåst',
    'state.handed-over': 'utlämnat',
    'state.returned': 'skickat tillbaka',
    'state.revoked': 'spärrat',
    'state.destroyed': 'förstört',
    'state.all': 'Alla',
    'office.open': 'öppet',
    'office.notice': 'uppsagt',
    'office.closed': 'stängt',

    // steps (titles)
    'step.office.registered': 'Nytt kontor',
    'step.office.updated': 'Ändra kontorets uppgifter',
    'step.admin.added': 'Ny ID-administratör',
    'step.admin.removed': 'ID-administratör slutar',
    'step.node.bound': 'Koppla en dator till ett kontor',
    'step.office.notice': 'Kontoret säger upp sig',
    'step.office.closed': 'Stäng kontoret',
    'step.order.placed': 'Ny beställning',
    'step.card.shipped': 'Kortet skickat (REK)',
    'step.pin.sent': 'PIN-brevet skickat',
    'step.notice.received': 'Avin har kommit',
    'step.card.collected': 'Hämtat hos postombudet',
    'step.card.stored': 'Kortet är inlåst',
    'step.card.returned': 'Skicka tillbaka kortet',
    'step.card.revoked': 'Spärra kortet',
    'step.card.destroyed': 'Kortet är förstört',
    'step.appointment.booked': 'Boka tid',
    'step.appointment.moved': 'Flytta mötet',
    'step.appointment.cancelled': 'Avboka mötet',
    'step.handover.completed': 'Lämna ut kortet',
    'step.handover.failed': 'Mötet misslyckades',
    'step.reserve.issued': 'Lämna ut reservkort',
    'step.reserve.returned': 'Reservkortet är tillbaka',
    'step.receipt.archived': 'Kvittensen är arkiverad',
    'step.catalogue.added': 'Ny post i katalogen (HSA)',
    'step.catalogue.audited': 'Kvartalsgranskning gjord',
    'step.catalogue.removed': 'Avregistrera i katalogen',
    'step.invoice.issued': 'Fakturaunderlag utfärdat',
    'step.other': 'Andra steg …',
    'step.other.title': 'Andra steg för beställning {order}',
    'step.other.desc': 'Välj vad som har hänt med kortet.',
    'step.choose': 'Vilket steg?',
    'step.choose.open': 'Öppna formuläret',
    'step.for': 'Beställning {order}',

    // step descriptions
    'desc.notice.received': 'Avin (REK-aviseringen) har kommit till dig.',
    'desc.card.collected': 'Du har hämtat kortet hos postombudet med avin och din egen legitimation.',
    'desc.card.stored': 'Kort ska förvaras inlåsta (låst låda, skåp eller rum) tills de lämnas ut.',
    'desc.appointment.booked': 'Kortinnehavaren har hört av sig. Bestäm tid och plats för mötet.',
    'desc.handover.completed': 'Följ rutinen: kontrollera legitimationen, att det är rätt person och att PIN-brevet finns med.',
    'desc.handover.failed': 'Kortet ligger kvar inlåst. Boka en ny tid med kortinnehavaren.',
    'desc.card.returned': 'Kortet skickas tillbaka till kortutgivaren.',
    'desc.reserve.issued': 'Personen kommer själv med giltig legitimation och skriver under en kvittens. Reservkortet gäller högst tre månader.',
    'desc.catalogue.audited': 'Verksamhetschefen har bekräftat att personen fortfarande är anställd.',
    'place.note': 'Din egen bostad är inte tillåten som mötesplats. Hemleverans till kortinnehavaren går bra.',
    'handover.checks': 'Kontrollera innan du lämnar ut kortet',
    'handover.checks.all': 'Alla tre kontrollerna måste vara gjorda. Saknas något: spara i stället att mötet misslyckades.',
    'handover.serial.hint': 'Skriv serienumret som står på kortet.',
    'handover.serial.reader': 'Serienumret kommer från kortet i läsaren, som stämmer med beställningen.',
    'appt.none': 'Utan bokad tid',

    // fields
    'field.order': 'Beställning',
    'field.serial': 'Kortets serienummer',
    'field.id_checked': 'Giltig legitimation kontrollerad',
    'field.right_person': 'Rätt person',
    'field.pin_envelope': 'PIN-brev finns',
    'field.appointment': 'Bokad tid',
    'field.at_ms': 'Tid för mötet',
    'field.at_ms.date': 'Datum',
    'field.at_ms.time': 'Klockslag',
    'field.place_kind': 'Typ av plats',
    'field.place': 'Plats (adress eller beskrivning)',
    'field.place.hint': 'Till exempel: Vårdcentralens reception, Café Centrum på Storgatan 2.',
    'field.locked': 'Kortet ligger inlåst (låst låda, skåp eller rum)',
    'field.reason': 'Orsak',
    'field.reserve': 'Reservkortets nummer',
    'field.office': 'Kontor',
    'field.valid_until_ms': 'Giltigt till och med',
    'field.receipt': 'Kvittensens nummer',
    'field.entry': 'Katalogpost (id)',
    'field.person': 'Personens namn',
    'field.unit': 'Enhet',
    'field.kind': 'Typ av kontor',
    'field.name': 'Namn',
    'field.town': 'Ort',
    'field.booking': 'Så bokar man tid (telefon, e-post eller webbadress)',
    'field.days': 'Öppna dagar (mon,tue,wed,thu,fri)',
    'field.admin': 'Administratörens id',
    'field.node': 'Datorns id (64 tecken)',
    'field.role': 'Roll',
    'field.from_seq': 'Från löpnummer',
    'field.care_provider': 'Vårdgivare',
    'field.card_type': 'Korttyp',
    'field.rek': 'REK-nummer',
    'field.chip': 'Chipnummer',
    'field.police_report': 'Polisanmälan (nummer)',
    'field.month': 'Månad',
    'field.handovers': 'Antal utlämningar',
    'field.extra_meetings': 'Antal extra möten',
    'field.amount_ore': 'Belopp i öre',
    'field.addr': 'Adress',
    'field.optional': '(frivilligt)',
    'field.choose': 'Välj …',

    // enum values
    'place_kind.office': 'På kontoret',
    'place_kind.public-place': 'Offentlig plats (hotell, kafé)',
    'place_kind.workplace': 'Kortinnehavarens arbetsplats',
    'place_kind.home-delivery': 'Hemleverans till kortinnehavaren',
    'place_kind.administrator-home': 'Administratörens bostad (inte tillåtet)',
    'fail.no-valid-id': 'Ingen giltig legitimation',
    'fail.wrong-person': 'Fel person kom',
    'fail.no-pin-envelope': 'PIN-brevet saknades',
    'fail.no-show': 'Ingen kom',
    'revoke.lost': 'Förlorat kort',
    'revoke.employment-ended': 'Anställningen har upphört',
    'rreason.lost-card': 'Förlorat kort',
    'rreason.new-hire': 'Nyanställd, kortet är inte klart',
    'rreason.short-term-employment': 'Kort anställning',
    'rreason.no-swedish-address': 'Saknar svensk folkbokföringsadress',
    'rreason.coordination-number': 'Har samordningsnummer',
    'rreason.foreign-person': 'Utländsk person',
    'kind.organisation': 'Organisation',
    'kind.private': 'Privat ID-administratör',
    'noderole.office': 'kontor',
    'noderole.mobile': 'mobil',
    'noderole.hub': 'navet',

    // success
    'ok.generic': 'Sparat: {step}.',
    'ok.notice.received': 'Sparat: avin för beställning {order} har kommit. Nästa steg: hämta kortet hos postombudet.',
    'ok.card.collected': 'Sparat: kortet för beställning {order} är hämtat. Lås in det.',
    'ok.card.stored': 'Sparat: kortet för beställning {order} är inlåst och väntar på bokning.',
    'ok.appointment.booked': 'Sparat: tid bokad för beställning {order}.',
    'ok.appointment.moved': 'Sparat: mötet är flyttat.',
    'ok.appointment.cancelled': 'Sparat: mötet är avbokat.',
    'ok.handover.completed': 'Sparat: kortet för beställning {order} är utlämnat.',
    'ok.handover.failed': 'Sparat: mötet för beställning {order} misslyckades. Boka en ny tid.',
    'ok.card.returned': 'Sparat: kortet för beställning {order} skickas tillbaka.',
    'ok.reserve.issued': 'Sparat: reservkort {reserve} är utlämnat. Kom ihåg att arkivera kvittensen.',

    // validation
    'val.required': 'Fyll i: {label}.',
    'val.id': '{label}: använd bara bokstäver A–Z, siffror och . _ - : (högst 64 tecken).',
    'val.tick': 'Kryssa i: {label}.',
    'val.uint': '{label}: skriv ett heltal (0 eller mer).',
    'val.month': '{label}: skriv månaden som ÅÅÅÅ-MM.',
    'val.date': '{label}: välj ett datum.',
    'val.time': '{label}: välj datum och klockslag.',
    'val.reserve3m': 'Ett reservkort gäller högst tre månader, från idag till senast {date}.',
    'val.future': '{label}: datumet måste vara efter idag.',
    'val.node': '{label}: 64 tecken 0–9 och a–f.',
    'val.text': '{label}: för lång text (högst 512 byte).',

    // errors from the rules
    'rule.no-order': 'Beställning {1} finns inte här. Den kanske inte har kommit från navet än: vänta på nästa kontakt.',
    'rule.state': 'Beställning {1} är {2}, så det här steget passar inte nu.',
    'rule.serial': 'Serienumret {1} är inte kortet som skickades för beställning {2}. Kontrollera kortet: lämna inte ut fel kort.',
    'rule.checks': 'Kortet får lämnas ut först när legitimationen är kontrollerad, det är rätt person och PIN-brevet finns.',
    'rule.home': 'Din egen bostad är inte tillåten som mötesplats. Välj en annan plats eller hemleverans.',
    'rule.slot': 'Tiden är redan bokad (bokning {1}). Välj en annan tid.',
    'rule.appt-exists': 'Bokningen {1} finns redan.',
    'rule.appt-notbooked': 'Bokningen {1} är inte längre bokad.',
    'rule.appt-other': 'Bokningen {1} hör inte till beställning {2}.',
    'rule.locked': 'Kortet måste förvaras inlåst.',
    'rule.admins': 'Kontoret {1} har för få ID-administratörer (en organisation behöver två). Kontakta kortutgivaren.',
    'rule.notice-ended': 'Kontoret {1} har slutat: uppsägningstiden är slut.',
    'rule.office-closed': 'Kontoret {1} är stängt.',
    'rule.reserve3m': 'Ett reservkort gäller högst tre månader från idag.',
    'rule.reserve-exists': 'Reservkort {1} finns redan.',
    'rule.reserve-unknown': 'Reservkort {1} finns inte här.',
    'rule.reserve-returned': 'Reservkort {1} är redan återlämnat.',
    'rule.receipt-archived': 'Kvittensen för {1} är redan arkiverad.',
    'rule.entry-unknown': 'Katalogposten {1} finns inte här.',
    'rule.entry-exists': 'Katalogposten {1} finns redan.',
    'rule.entry-lapsed': 'Katalogposten {1} har gått ut (gäller ett år). Avregistrera personen och lägg till på nytt.',
    'rule.entry-removed': 'Katalogposten {1} är redan avregistrerad.',
    'rule.writer': 'Den här datorn får inte registrera steg för det kontoret.',
    'rule.revoked': 'Navet har spärrat den här datorns nyckel. Kontakta kortutgivaren.',
    'rule.expired': 'Den här datorns behörighet har gått ut. Kontakta kortutgivaren.',
    'rule.hubonly': 'Bara navet får göra det här steget.',
    'rule.chip': 'Kortet som lästes är inte kortet som skickades för beställningen. Lämna inte ut det.',
    'rule.field': 'Ett fält är fel ifyllt: {1}',

    // alerts
    'alert.not-received': 'Avi har inte kommit',
    'alert.stored-long': 'Inlåst länge',
    'alert.reserve-overdue': 'Reservkort inte återlämnat',
    'alert.audit-overdue': 'Kvartalsgranskning behövs',
    'alert.catalogue-lapsed': 'Katalogpost har gått ut',
    'alert.receipt-not-archived': 'Kvittens inte arkiverad',
    'alert.too-few-administrators': 'För få ID-administratörer',
    'alert.notice-holding-cards': 'Uppsagt kontor har kort kvar',
    'alert.fork': 'En nyckel har skrivit dubbelt',
    'alert.revoked-key-wrote': 'Spärrad nyckel har skrivit',
    'ad.not-received': 'Skickat för {1} dagar sedan, ingen avi har kommit. Fråga postombudet.',
    'ad.stored-long': 'Inlåst i {1} dagar. Ring kortinnehavaren och boka en tid.',
    'ad.reserve-overdue': 'Gällde till {1} och är inte återlämnat.',
    'ad.audit-overdue': 'Senaste granskning {1}. Be verksamhetschefen bekräfta anställningen.',
    'ad.catalogue-lapsed': 'Inte bekräftad sedan {1}. Avregistrera eller lägg till på nytt.',
    'ad.receipt-not-archived': 'Kvittens {1} från {2} är inte arkiverad.',
    'ad.too-few-administrators': '{1} ID-administratör(er); en organisation behöver två.',
    'ad.notice-holding-cards': '{1} (uppsägningen slutar {2}), {3} kort är inte utlämnade.',
    'ad.fork': 'Skrev två olika händelser med löpnummer {1} (kopierad disk eller återställd säkerhetskopia?). Gäller upp till {2}. Koppla en ny nyckel till kontoret.',
    'ad.revoked-key-wrote': 'Spärrad från löpnummer {1}, men händelser upp till {2} kom hit före spärren: sparade, inte använda, skickas inte vidare.',
    'alert.action.notice': 'Avin har kommit',
    'alert.action.book': 'Boka tid',
    'alert.action.returned': 'Tillbaka',
    'alert.action.archive': 'Arkiverad',
    'alert.action.audit': 'Granskad',
    'alert.action.remove': 'Avregistrera',
    'alerts.none': 'Inga varningar.',
    'alerts.filter': 'Visa varningar för kontor',
    'alerts.all': 'Alla kontor',

    // columns
    'col.order': 'Beställning',
    'col.provider': 'Vårdgivare',
    'col.serial': 'Serienummer',
    'col.state': 'Läge',
    'col.office': 'Kontor',
    'col.action': 'Nästa steg',
    'col.time': 'Tid',
    'col.place': 'Plats',
    'col.what': 'Vad',
    'col.subject': 'Gäller',
    'col.detail': 'Beskrivning',
    'col.town': 'Ort',
    'col.kind': 'Typ',
    'col.admins': 'ID-administratörer',
    'col.days': 'Öppna dagar',
    'col.status': 'Status',
    'col.listed': 'I katalogen',
    'col.ordered': 'Beställda',
    'col.in_transit': 'På väg',
    'stock.oldest': 'äldsta {n} d',
    'col.notice_waiting': 'Avi kommen',
    'col.locked_storage': 'Inlåsta',
    'col.handed_over': 'Utlämnade',
    'col.late_post': 'På väg > 28 dagar',
    'col.late_stored': 'Inlåsta > 30 dagar',
    'col.handovers': 'Utlämningar',
    'col.extra': 'Extra möten',
    'col.amount': 'Belopp',
    'col.vat': 'Moms',
    'col.issued': 'Utfärdat',
    'col.cards': 'Kort',
    'col.total': 'Summa',
    'col.author': 'Dator',
    'col.seq': 'Löpnummer',
    'col.type': 'Steg',
    'col.reason': 'Orsak',
    'col.node': 'Dator',
    'col.path': 'Väg',
    'col.addr': 'Adress',
    'col.connected': 'Ansluten',
    'col.last': 'Senaste kontakt',
    'col.inout': 'In / ut',
    'col.waiting': 'Väntar',
    'col.care_provider': 'Vårdgivare',

    // lists
    'post.notice': 'Avi har kommit – hämta hos postombudet',
    'post.collected': 'Hämtade – lås in',
    'post.shipped': 'Skickade till dig – väntar på avi',
    'post.none': 'Inga kort på väg just nu.',
    'book.none': 'Inga inlåsta kort väntar på bokning.',
    'book.nobookings': 'Bokade tider kan inte visas här, så alla inlåsta kort står i listan.',
    'book.booked': 'Bokat {time}',
    'meetings.none': 'Inga möten idag.',
    'meetings.upcoming': 'Kommande möten',
    'meetings.unavailable': 'Bokade tider kan inte visas här. Alla inlåsta kort finns under "Inlåsta kort som väntar på bokning".',
    'rebook.none': 'Inga misslyckade möten att boka om.',
    'rebook.count': 'misslyckade möten: {n}',
    'todo.none': 'Inget att åtgärda.',
    'cards.filter.state': 'Visa kort som är',
    'cards.open': 'Inte klara (beställda till inlåsta)',
    'cards.filter.text': 'Sök beställning eller serienummer',
    'cards.count': 'Visar {shown} av {total} kort.',
    'cards.none': 'Inga kort matchar.',
    'cards.wait.hub': 'Väntar på kortutgivaren',
    'cards.done': 'Klart',
    'reserve.intro': 'Reservkort lämnas ut under kontorstid och gäller högst tre månader. Kvittensen ska arkiveras. Katalogposter ska granskas var tredje månad.',
    'reserve.alerts': 'Att göra med reservkort och katalogen',
    'reserve.none': 'Inget att göra med reservkort eller katalogen just nu.',
    'reserve.actions': 'Registrera',
    'earnings.month': 'Månad',
    'earnings.private': 'Utlämningar: {n} × 500 kr. Extra möten: {x} × 250 kr. Summa {sum} (bruttolön, före skatt).',
    'earnings.org': 'Utlämningar: {n} × 800 kr = {sum} + moms {vat}.',
    'earnings.issued': 'Kortutgivaren har utfärdat fakturaunderlag på {sum}.',
    'earnings.none': 'Inga uppgifter för månaden.',
    'earnings.office': 'Kontor {office}',
    'earnings.handovers': 'utlämningar',
    'earnings.extra': 'extra möten',
    'earnings.amount': 'ersättning',
    'earnings.csv': 'Ladda ner underlaget (CSV, öppnas i Excel)',
    'mine.none': 'Alla dina steg har gått igenom.',
    'mine.help': 'De här stegen från den här datorn gick inte ihop med det som hänt på andra håll (till exempel att navet spärrade kortet samtidigt). Registrera rätt steg nu, eller kontakta kortutgivaren.',
    'steps.help': 'För steg som inte finns som knappar ovan.',
    'steps.none': 'Inga steg att välja.',
    'who.hub': 'navet',

    // hub
    'keys.none': 'Inga varningar om nycklar.',
    'keys.help': 'En nyckel som har skrivit två olika händelser med samma löpnummer kommer från en kopierad disk. Spärra den och koppla en ny nyckel till kontoret.',
    'offices.notlisted': 'inte listat',
    'offices.listed': 'listat',
    'offices.admins.ok': 'minst 2',
    'offices.none': 'Inga kontor.',
    'stock.none': 'Inga kort.',
    'chart.waiting': 'Kort som väntar per kontor',
    'chart.waiting.desc': 'Kort på väg, med avi och inlåsta, per kontor. {total} kort totalt; flest hos {top} ({n}).',
    'chart.waiting.more': 'Visar de {n} kontor som har flest kort.',
    'chart.week': 'Utlämningar per vecka',
    'chart.week.desc': 'Utlämningar de senaste {n} veckorna: {total} totalt, flest vecka {top} ({max}).',
    'chart.table': 'Visa som tabell',
    'chart.empty': 'Inga uppgifter att visa ännu.',
    'chart.week.label': 'v. {w}',
    'chart.col.period': 'Period',
    'conflicts.none': 'Inga konflikter.',
    'conflicts.help': 'En konflikt är ett steg som inte passade det som redan hänt, till exempel en utlämning av ett kort som samtidigt spärrades. Inget försvinner: lös det genom att registrera rätt steg nu.',
    'conflict.conflict': 'konflikt',
    'conflict.invalid': 'ogiltigt',
    'invoice.offices': 'Till kontoren',
    'invoice.providers': 'Till vårdgivarna',
    'invoice.csv': 'Ladda ner som CSV (öppnas i Excel)',
    'invoice.none': 'Inga utlämningar den månaden.',
    'invoice.total': 'Totalt',
    'invoice.mismatch': 'Utfärdat belopp skiljer sig från det beräknade.',
    'nodes.none': 'Inga andra datorer har hörts av ännu.',
    'nodes.forgotten': 'går inte att nå',
    'nodes.never': 'aldrig',
    'search.label': 'Beställning, serienummer eller vårdgivare',
    'search.button': 'Sök',
    'search.hint': 'Skriv minst två tecken.',
    'search.none': 'Ingen beställning matchar.',
    'search.count': 'Träffar: {n}.',
    'search.more': 'Fler än {n} träffar: de {n} första visas. Skriv mer för att hitta färre.',
    'search.chars': 'Sök med bokstäver a–z, siffror, bindestreck, understreck och punkt.',
    'table.region': 'Tabell: {name}',
    'kr': '{n} kr'
  },

  en: {
    'app.title': 'Kortnod – handing out SITHS cards',
    'app.title.hub': 'Kortnod – the hub',
    'skip': 'Skip to content',
    'refresh': 'Refresh',
    'lang.other': 'Svenska',
    'lang.switched': 'The page is now in English.',
    'nav.label': 'Sections of the page',
    'loading': 'Loading …',
    'foot': 'Everything you record is saved on this computer and sent to the hub at the next contact.',
    'foot.hub': 'The hub gathers what the offices record. The offices get the changes at their next contact.',
    'save': 'Save',
    'cancel': 'Cancel',
    'close': 'Close',
    'yes': 'Yes',
    'no': 'No',
    'none': '–',
    'unknown': 'unknown',
    'whoami': '{name} · {role}',
    'whoami.office': '{name} · {role} · office {office}',
    'role.office': 'office computer',
    'role.mobile': 'mobile administrator',
    'role.hub': 'the hub (card issuer)',
    'err.login': 'You are not logged in. Open the page with a new login link: type kortnod ui in a terminal window on this computer.',
    'err.network': 'Kortnod cannot be reached right now. Is it running? The page tries again by itself.',
    'err.load': 'Could not load {what}: {why}',
    'err.csrf': 'The session has expired. Reload the page and try again.',
    'err.step': 'The step was not saved: {why}',
    'err.step.raw': 'The step was not saved: {why}',
    'updated': 'Updated {time}.',
    'refreshing': 'Fetching the latest …',
    'today.date': 'Today is {date}.',

    'sec.today': 'Today',
    'sec.reader': 'Card reader',
    'sec.meetings': "Today's meetings",
    'sec.post': 'Post and notices',
    'sec.book': 'Locked-up cards waiting for a booking',
    'sec.rebook': 'Failed meetings to rebook',
    'sec.todo': 'To deal with',
    'sec.reserve': 'Reserve cards and the catalogue (HSA)',
    'sec.earnings': 'Earnings',
    'sec.cards': 'All cards',
    'sec.sync': 'Contact with the hub',
    'sec.steps': 'Record another step',
    'sec.mine_conflicts': 'Steps that did not go through',
    'sec.keys': 'Key warnings',
    'sec.overview': 'The country at a glance',
    'sec.offices': 'Offices',
    'sec.directory': 'Directory of card offices',
    'import.label': 'Read in a file from the USB stick',
    'import.button': 'Read in the file',
    'import.choose': 'First choose the file on the USB stick.',
    'import.busy': 'Reading in {name} …',
    'import.done': 'The file {name} is read in: {n} new entries.',
    'import.failed': 'The file {name} was not read in. Nothing changed.',
    'import.hint': 'A file from the hub (or another office) that someone brought on a USB stick. It is encrypted and checked whole before anything is read in.',
    'import.hint.hub': 'A file from an office that came on a USB stick or by post. It is encrypted and checked whole before anything is read in.',
    'col.file': 'File for the computer',
    'nodes.file': 'Save file',
    'nodes.file.for': 'Save file for {node}, for the USB stick',
    'directory.desc': 'The public list, as care providers see it: open offices (an organisation with at least two ID administrators). A new office is in it as soon as it qualifies.',
    'directory.none': 'No office is in the directory yet.',
    'directory.csv': 'Download the directory as CSV (for publishing)',
    'col.booking': 'How to book',
    'col.name': 'Name',
    'sec.stock': 'Cards per office',
    'sec.charts': 'Hand-overs over time',
    'sec.alerts': 'Alerts',
    'sec.conflicts': 'Conflicts to resolve',
    'sec.invoice': 'Invoice basis',
    'sec.nodes': 'Computers and last contact',
    'sec.search': 'Find an order',

    'tile.meetings': 'Meetings today',
    'tile.collect': 'To collect at the postal agent',
    'tile.store': 'To lock up',
    'tile.book': 'Waiting for a booking',
    'tile.rebook': 'To rebook',
    'tile.todo': 'To deal with',
    'tile.notice': 'On the way – wait for the notice',
    'tile.offices': 'Offices',
    'tile.waiting': 'Cards at the offices',
    'tile.alerts': 'Alerts',
    'tile.conflicts': 'Conflicts',
    'tile.keys': 'Key warnings',
    'tile.nodes_late': 'Computers silent for 7 days',
    'today.nothing': 'Nothing to do right now. Well done!',

    'reader.none': 'No card in the reader.',
    'reader.match': 'Card in the reader: serial {serial}, matches order {order}.',
    'reader.match.hsa': "Chip and the holder's HSA-id checked.",
    'reader.match.chip': 'Chip serial checked.',
    'reader.handover': 'Hand the card over for order {order}',
    'reader.nochip': 'The card in the reader gives no chip serial. Choose the order by hand and check the serial printed on the card.',
    'reader.unknown': 'STOP: The card in the reader (chip {chip}) was not shipped to any office. Do not hand it over.',
    'reader.wrongstate': 'STOP: The card belongs to order {order}, which is {state}. It is not to be handed over now.',
    'reader.wrongholder': "STOP: The chip is order {order}'s card, but the certificate on it is not the holder's. Do not hand the card over.",
    'reader.lookup': 'Could not look the card up: {why}',
    'reader.error': 'The card in the reader could not be read: {why}. Take it out and put it in again.',
    'reader.refused': 'STOP: {why}',
    'reader.service.down': 'The smart card service on this computer is not running.',
    'reader.service.starting': 'The smart card service is starting …',
    'reader.noreaders': 'No card reader is connected. Plug the reader into a USB port.',
    'reader.off': 'Kortnod watches no card reader on this computer.',
    'reader.daemon': 'Kortnod is not running, so the card reader is not shown.',
    'reader.name': 'Reader: {name}',
    'reader.since': 'since {time}',
    'reader.help': 'Put the card in the reader before handing it over: the page checks that it is the right card.',

    'sync.never': 'No contact with the hub yet. {waiting} They go at the first connection: over the internet, through another office, or as a file on a USB stick.',
    'sync.connected': 'Connected to the hub now ({path}). {waiting}',
    'sync.last': 'Last contact with the hub {ago} ({path}). {waiting}',
    'sync.waiting': '{n} events waiting; they go at the next connection.',
    'sync.waiting.one': '1 event waiting; it goes at the next connection.',
    'sync.waiting.live': '{n} events being sent now.',
    'sync.allsent': 'Everything is sent.',
    'sync.bundle': 'Save a file for the hub on the USB stick',
    'sync.bundle.help': 'The file is encrypted: whoever finds the stick cannot read it. Send it to the hub, which reads it in on its page (or with kortnod bundle import).',
    'sync.nodaemon': 'Kortnod is not running right now: nothing is sent or received. What you record is kept and sent when it runs again.',
    'sync.old': 'The hub has not been heard from for a long time. Check the internet connection, or send a file on a USB stick.',
    'sync.hub': 'Hub: {connected} of {total} computers connected now; {late} not heard from for 7 days.',
    'sync.lan.on': 'Local network: kortnod looks for other computers on the network; {n} found.',
    'sync.lan.off': 'Local network: kortnod does not look for other computers on the network.',
    'path.tcp': 'over the internet',
    'path.lan': 'over the local network',
    'path.bundle': 'by file on a USB stick',
    'path.none': 'no way yet',
    'sync.peers': 'Other computers this one is in contact with',
    'sync.nopeers': 'No other computers yet.',

    'state.ordered': 'ordered',
    'state.shipped': 'shipped, waiting for the notice',
    'state.notice': 'notice arrived',
    'state.collected': 'collected, not locked up',
    'state.stored': 'locked up',
    'state.handed-over': 'handed over',
    'state.returned': 'returned',
    'state.revoked': 'revoked',
    'state.destroyed': 'destroyed',
    'state.all': 'All',
    'office.open': 'open',
    'office.notice': 'under notice',
    'office.closed': 'closed',

    'step.office.registered': 'New office',
    'step.office.updated': "Change the office's details",
    'step.admin.added': 'New ID administrator',
    'step.admin.removed': 'ID administrator leaves',
    'step.node.bound': 'Bind a computer to an office',
    'step.office.notice': 'The office gives notice',
    'step.office.closed': 'Close the office',
    'step.order.placed': 'New order',
    'step.card.shipped': 'Card shipped (registered mail)',
    'step.pin.sent': 'PIN letter sent',
    'step.notice.received': 'The notice has arrived',
    'step.card.collected': 'Collected at the postal agent',
    'step.card.stored': 'The card is locked up',
    'step.card.returned': 'Send the card back',
    'step.card.revoked': 'Revoke the card',
    'step.card.destroyed': 'The card is destroyed',
    'step.appointment.booked': 'Book a meeting',
    'step.appointment.moved': 'Move the meeting',
    'step.appointment.cancelled': 'Cancel the meeting',
    'step.handover.completed': 'Hand the card over',
    'step.handover.failed': 'The meeting failed',
    'step.reserve.issued': 'Issue a reserve card',
    'step.reserve.returned': 'The reserve card is back',
    'step.receipt.archived': 'The receipt is filed',
    'step.catalogue.added': 'New catalogue (HSA) entry',
    'step.catalogue.audited': 'Quarterly audit done',
    'step.catalogue.removed': 'Deregister in the catalogue',
    'step.invoice.issued': 'Invoice basis issued',
    'step.other': 'Other steps …',
    'step.other.title': 'Other steps for order {order}',
    'step.other.desc': 'Choose what happened to the card.',
    'step.choose': 'Which step?',
    'step.choose.open': 'Open the form',
    'step.for': 'Order {order}',

    'desc.notice.received': 'The notice of the registered letter has reached you.',
    'desc.card.collected': 'You collected the card at the postal agent with the notice and your own ID.',
    'desc.card.stored': 'Cards are kept locked (drawer, cabinet or room) until they are handed over.',
    'desc.appointment.booked': 'The holder got in touch. Agree on a time and place for the meeting.',
    'desc.handover.completed': 'Follow the routine: check the ID document, that it is the right person, and that the PIN envelope is there.',
    'desc.handover.failed': 'The card stays locked up. Book a new meeting with the holder.',
    'desc.card.returned': 'The card goes back to the card issuer.',
    'desc.reserve.issued': 'The person comes in person with a valid ID and signs a receipt. A reserve card is valid at most three months.',
    'desc.catalogue.audited': 'The head of unit confirmed that the person is still employed.',
    'place.note': "Your own home is not allowed as a meeting place. Home delivery to the holder is fine.",
    'handover.checks': 'Check before you hand the card over',
    'handover.checks.all': 'All three checks must be done. If one is missing, save that the meeting failed instead.',
    'handover.serial.hint': 'Type the serial number printed on the card.',
    'handover.serial.reader': 'The serial comes from the card in the reader, which matches the order.',
    'appt.none': 'No booked meeting',

    'field.order': 'Order',
    'field.serial': "Card's serial number",
    'field.id_checked': 'Valid ID document checked',
    'field.right_person': 'Right person',
    'field.pin_envelope': 'PIN envelope present',
    'field.appointment': 'Booked meeting',
    'field.at_ms': 'Time of the meeting',
    'field.at_ms.date': 'Date',
    'field.at_ms.time': 'Time',
    'field.place_kind': 'Kind of place',
    'field.place': 'Place (address or description)',
    'field.place.hint': "For example: the health centre's reception, Café Centrum at Storgatan 2.",
    'field.locked': 'The card is locked up (drawer, cabinet or room)',
    'field.reason': 'Reason',
    'field.reserve': "Reserve card's number",
    'field.office': 'Office',
    'field.valid_until_ms': 'Valid until (inclusive)',
    'field.receipt': "Receipt's number",
    'field.entry': 'Catalogue entry (id)',
    'field.person': "Person's name",
    'field.unit': 'Unit',
    'field.kind': 'Kind of office',
    'field.name': 'Name',
    'field.town': 'Town',
    'field.booking': 'How to book (phone, e-mail or web address)',
    'field.days': 'Open days (mon,tue,wed,thu,fri)',
    'field.admin': "Administrator's id",
    'field.node': "Computer's id (64 characters)",
    'field.role': 'Role',
    'field.from_seq': 'From sequence number',
    'field.care_provider': 'Care provider',
    'field.card_type': 'Card type',
    'field.rek': 'Registered mail number',
    'field.chip': 'Chip serial',
    'field.police_report': 'Police report (number)',
    'field.month': 'Month',
    'field.handovers': 'Number of hand-overs',
    'field.extra_meetings': 'Number of extra meetings',
    'field.amount_ore': 'Amount in öre',
    'field.addr': 'Address',
    'field.optional': '(optional)',
    'field.choose': 'Choose …',

    'place_kind.office': 'At the office',
    'place_kind.public-place': 'Public place (hotel, café)',
    'place_kind.workplace': "The holder's workplace",
    'place_kind.home-delivery': 'Home delivery to the holder',
    'place_kind.administrator-home': "The administrator's home (not allowed)",
    'fail.no-valid-id': 'No valid ID document',
    'fail.wrong-person': 'The wrong person came',
    'fail.no-pin-envelope': 'The PIN envelope was missing',
    'fail.no-show': 'Nobody came',
    'revoke.lost': 'Lost card',
    'revoke.employment-ended': 'Employment ended',
    'rreason.lost-card': 'Lost card',
    'rreason.new-hire': "New hire, the card is not ready",
    'rreason.short-term-employment': 'Short-term employment',
    'rreason.no-swedish-address': 'No Swedish registered address',
    'rreason.coordination-number': 'Has a coordination number',
    'rreason.foreign-person': 'Foreign person',
    'kind.organisation': 'Organisation',
    'kind.private': 'Private ID administrator',
    'noderole.office': 'office',
    'noderole.mobile': 'mobile',
    'noderole.hub': 'hub',

    'ok.generic': 'Saved: {step}.',
    'ok.notice.received': 'Saved: the notice for order {order} has arrived. Next: collect the card at the postal agent.',
    'ok.card.collected': 'Saved: the card of order {order} is collected. Lock it up.',
    'ok.card.stored': 'Saved: the card of order {order} is locked up and waiting for a booking.',
    'ok.appointment.booked': 'Saved: meeting booked for order {order}.',
    'ok.appointment.moved': 'Saved: the meeting is moved.',
    'ok.appointment.cancelled': 'Saved: the meeting is cancelled.',
    'ok.handover.completed': 'Saved: the card of order {order} is handed over.',
    'ok.handover.failed': 'Saved: the meeting for order {order} failed. Book a new one.',
    'ok.card.returned': 'Saved: the card of order {order} goes back.',
    'ok.reserve.issued': 'Saved: reserve card {reserve} is issued. Remember to file the receipt.',

    'val.required': 'Fill in: {label}.',
    'val.id': '{label}: use only letters A–Z, digits and . _ - : (at most 64 characters).',
    'val.tick': 'Tick: {label}.',
    'val.uint': '{label}: type a whole number (0 or more).',
    'val.month': '{label}: type the month as YYYY-MM.',
    'val.date': '{label}: choose a date.',
    'val.time': '{label}: choose a date and a time.',
    'val.reserve3m': 'A reserve card is valid at most three months, from today until {date} at the latest.',
    'val.future': '{label}: the date must be after today.',
    'val.node': '{label}: 64 characters 0–9 and a–f.',
    'val.text': '{label}: the text is too long (at most 512 bytes).',

    'rule.no-order': 'Order {1} is not known here. It may not have come from the hub yet: wait for the next contact.',
    'rule.state': 'Order {1} is {2}, so this step does not fit now.',
    'rule.serial': 'Serial {1} is not the card shipped for order {2}. Check the card: do not hand over the wrong one.',
    'rule.checks': 'The card may be handed over only when the ID is checked, it is the right person and the PIN envelope is there.',
    'rule.home': 'Your own home is not allowed as a meeting place. Choose another place or home delivery.',
    'rule.slot': 'That time is already booked (booking {1}). Choose another time.',
    'rule.appt-exists': 'Booking {1} already exists.',
    'rule.appt-notbooked': 'Booking {1} is no longer booked.',
    'rule.appt-other': 'Booking {1} does not belong to order {2}.',
    'rule.locked': 'The card must be kept locked up.',
    'rule.admins': 'Office {1} has too few ID administrators (an organisation needs two). Contact the card issuer.',
    'rule.notice-ended': "Office {1} has stopped: its notice period has ended.",
    'rule.office-closed': 'Office {1} is closed.',
    'rule.reserve3m': 'A reserve card is valid at most three months from today.',
    'rule.reserve-exists': 'Reserve card {1} already exists.',
    'rule.reserve-unknown': 'Reserve card {1} is not known here.',
    'rule.reserve-returned': 'Reserve card {1} was already returned.',
    'rule.receipt-archived': 'The receipt of {1} is already filed.',
    'rule.entry-unknown': 'Catalogue entry {1} is not known here.',
    'rule.entry-exists': 'Catalogue entry {1} already exists.',
    'rule.entry-lapsed': 'Catalogue entry {1} has lapsed (valid one year). Deregister the person and add them again.',
    'rule.entry-removed': 'Catalogue entry {1} is already deregistered.',
    'rule.writer': 'This computer may not record steps for that office.',
    'rule.revoked': "The hub revoked this computer's key. Contact the card issuer.",
    'rule.expired': "This computer's enrolment has ended. Contact the card issuer.",
    'rule.hubonly': 'Only the hub may record this step.',
    'rule.chip': 'The card read is not the card shipped for the order. Do not hand it over.',
    'rule.field': 'A field is wrong: {1}',

    'alert.not-received': 'No notice received',
    'alert.stored-long': 'Locked up for long',
    'alert.reserve-overdue': 'Reserve card not returned',
    'alert.audit-overdue': 'Quarterly audit due',
    'alert.catalogue-lapsed': 'Catalogue entry lapsed',
    'alert.receipt-not-archived': 'Receipt not filed',
    'alert.too-few-administrators': 'Too few ID administrators',
    'alert.notice-holding-cards': 'Office under notice still has cards',
    'alert.fork': 'A key signed twice',
    'alert.revoked-key-wrote': 'A revoked key wrote',
    'ad.not-received': 'Shipped {1} days ago, no notice received. Ask the postal agent.',
    'ad.stored-long': 'Locked up for {1} days. Call the holder and book a meeting.',
    'ad.reserve-overdue': 'Was valid until {1} and is not returned.',
    'ad.audit-overdue': 'Last audit {1}. Ask the head of unit to confirm the employment.',
    'ad.catalogue-lapsed': 'Not confirmed since {1}. Deregister or add again.',
    'ad.receipt-not-archived': 'Receipt {1} of {2} is not filed.',
    'ad.too-few-administrators': '{1} ID administrator(s); an organisation needs two.',
    'ad.notice-holding-cards': '{1} (notice ends {2}), {3} card(s) not handed over.',
    'ad.fork': 'Signed two different entries at sequence number {1} (a copied disk or a restored backup?). Applied up to {2}. Enrol a new key for the office.',
    'ad.revoked-key-wrote': 'Revoked from sequence number {1}, yet entries up to {2} reached this node before the revocation: kept, not applied, not passed on.',
    'alert.action.notice': 'Notice arrived',
    'alert.action.book': 'Book a meeting',
    'alert.action.returned': 'Returned',
    'alert.action.archive': 'Filed',
    'alert.action.audit': 'Audited',
    'alert.action.remove': 'Deregister',
    'alerts.none': 'No alerts.',
    'alerts.filter': 'Show alerts for office',
    'alerts.all': 'All offices',

    'col.order': 'Order',
    'col.provider': 'Care provider',
    'col.serial': 'Serial',
    'col.state': 'State',
    'col.office': 'Office',
    'col.action': 'Next step',
    'col.time': 'Time',
    'col.place': 'Place',
    'col.what': 'What',
    'col.subject': 'Concerns',
    'col.detail': 'Description',
    'col.town': 'Town',
    'col.kind': 'Kind',
    'col.admins': 'ID administrators',
    'col.days': 'Open days',
    'col.status': 'Status',
    'col.listed': 'In the directory',
    'col.ordered': 'Ordered',
    'col.in_transit': 'On the way',
    'stock.oldest': 'oldest {n} d',
    'col.notice_waiting': 'Notice arrived',
    'col.locked_storage': 'Locked up',
    'col.handed_over': 'Handed over',
    'col.late_post': 'On the way > 28 days',
    'col.late_stored': 'Locked up > 30 days',
    'col.handovers': 'Hand-overs',
    'col.extra': 'Extra meetings',
    'col.amount': 'Amount',
    'col.vat': 'VAT',
    'col.issued': 'Issued',
    'col.cards': 'Cards',
    'col.total': 'Total',
    'col.author': 'Computer',
    'col.seq': 'Sequence number',
    'col.type': 'Step',
    'col.reason': 'Reason',
    'col.node': 'Computer',
    'col.path': 'Path',
    'col.addr': 'Address',
    'col.connected': 'Connected',
    'col.last': 'Last contact',
    'col.inout': 'In / out',
    'col.waiting': 'Waiting',
    'col.care_provider': 'Care provider',

    'post.notice': 'Notice arrived – collect at the postal agent',
    'post.collected': 'Collected – lock up',
    'post.shipped': 'Shipped to you – waiting for the notice',
    'post.none': 'No cards on the way right now.',
    'book.none': 'No locked-up cards waiting for a booking.',
    'book.nobookings': 'Booked meetings cannot be shown here, so every locked-up card is listed.',
    'book.booked': 'Booked {time}',
    'meetings.none': 'No meetings today.',
    'meetings.upcoming': 'Coming meetings',
    'meetings.unavailable': 'Booked meetings cannot be shown here. Every locked-up card is under "Locked-up cards waiting for a booking".',
    'rebook.none': 'No failed meetings to rebook.',
    'rebook.count': 'failed meetings: {n}',
    'todo.none': 'Nothing to deal with.',
    'cards.filter.state': 'Show cards that are',
    'cards.open': 'Not done (ordered to locked up)',
    'cards.filter.text': 'Search order or serial',
    'cards.count': 'Showing {shown} of {total} cards.',
    'cards.none': 'No cards match.',
    'cards.wait.hub': 'Waiting for the card issuer',
    'cards.done': 'Done',
    'reserve.intro': 'Reserve cards are issued during office hours and are valid at most three months. The receipt must be filed. Catalogue entries are audited every three months.',
    'reserve.alerts': 'To do with reserve cards and the catalogue',
    'reserve.none': 'Nothing to do with reserve cards or the catalogue right now.',
    'reserve.actions': 'Record',
    'earnings.month': 'Month',
    'earnings.private': 'Hand-overs: {n} × 500 kr. Extra meetings: {x} × 250 kr. Total {sum} (gross salary, before tax).',
    'earnings.org': 'Hand-overs: {n} × 800 kr = {sum} + VAT {vat}.',
    'earnings.issued': 'The card issuer issued an invoice basis of {sum}.',
    'earnings.none': 'No figures for the month.',
    'earnings.office': 'Office {office}',
    'earnings.handovers': 'hand-overs',
    'earnings.extra': 'extra meetings',
    'earnings.amount': 'earnings',
    'earnings.csv': 'Download the basis (CSV, opens in Excel)',
    'mine.none': 'All your steps went through.',
    'mine.help': 'These steps from this computer did not fit what happened elsewhere (for example the hub revoked the card at the same time). Record the right step now, or contact the card issuer.',
    'steps.help': 'For steps that have no button above.',
    'steps.none': 'No steps to choose.',
    'who.hub': 'the hub',

    'keys.none': 'No key warnings.',
    'keys.help': 'A key that signed two different entries with one sequence number comes from a copied disk. Revoke it and enrol a new key for the office.',
    'offices.notlisted': 'not listed',
    'offices.listed': 'listed',
    'offices.admins.ok': 'at least 2',
    'offices.none': 'No offices.',
    'stock.none': 'No cards.',
    'chart.waiting': 'Cards waiting per office',
    'chart.waiting.desc': 'Cards on the way, with a notice and locked up, per office. {total} cards in all; most at {top} ({n}).',
    'chart.waiting.more': 'Showing the {n} offices with the most cards.',
    'chart.week': 'Hand-overs per week',
    'chart.week.desc': 'Hand-overs in the last {n} weeks: {total} in all, most in week {top} ({max}).',
    'chart.table': 'Show as a table',
    'chart.empty': 'Nothing to show yet.',
    'chart.week.label': 'w. {w}',
    'chart.col.period': 'Period',
    'conflicts.none': 'No conflicts.',
    'conflicts.help': 'A conflict is a step that did not fit what had already happened, such as handing over a card that was revoked at the same time. Nothing is lost: resolve it by recording the right step now.',
    'conflict.conflict': 'conflict',
    'conflict.invalid': 'invalid',
    'invoice.offices': 'To the offices',
    'invoice.providers': 'To the care providers',
    'invoice.csv': 'Download as CSV (opens in Excel)',
    'invoice.none': 'No hand-overs that month.',
    'invoice.total': 'Total',
    'invoice.mismatch': 'The issued amount differs from the computed one.',
    'nodes.none': 'No other computers heard from yet.',
    'nodes.forgotten': 'cannot be reached',
    'nodes.never': 'never',
    'search.label': 'Order, serial or care provider',
    'search.button': 'Search',
    'search.hint': 'Type at least two characters.',
    'search.none': 'No order matches.',
    'search.count': 'Matches: {n}.',
    'search.more': 'More than {n} matches: the first {n} are shown. Type more to find fewer.',
    'search.chars': 'Search with the letters a–z, digits, hyphen, underscore and full stop.',
    'table.region': 'Table: {name}',
    'kr': '{n} kr'
  }
};

/* ------------------------------------------------------------------ the rules' words */

/* The step types of a card's life, with the fields this page knows better than the API's
 * text/uint/bool/bin: ids, enums, months, dates. The API's list says which exist. */
const FIELD_KIND = {
  order: 'id', serial: 'id', appointment: 'id', reserve: 'id', receipt: 'id', entry: 'id',
  office: 'id', admin: 'id', care_provider: 'id', card_type: 'id', rek: 'id', chip: 'id',
  node: 'node', author: 'node', month: 'month', kind: 'enum', role: 'enum', place_kind: 'enum',
  reason: 'text', at_ms: 'datetime', valid_until_ms: 'date', from_seq: 'uint', seq: 'uint',
  handovers: 'uint', extra_meetings: 'uint', amount_ore: 'uint'
};
const ENUMS = {
  kind: ['organisation', 'private'],
  role: ['office', 'mobile', 'hub'],
  place_kind: ['office', 'public-place', 'workplace', 'home-delivery'], // never administrator-home
  'handover.failed/reason': ['no-valid-id', 'wrong-person', 'no-pin-envelope', 'no-show'],
  'card.revoked/reason': ['lost', 'employment-ended'],
  'reserve.issued/reason': ['lost-card', 'new-hire', 'short-term-employment', 'no-swedish-address',
    'coordination-number', 'foreign-person']
};
const ENUM_PREFIX = {
  kind: 'kind.', role: 'noderole.', place_kind: 'place_kind.', 'handover.failed/reason': 'fail.',
  'card.revoked/reason': 'revoke.', 'reserve.issued/reason': 'rreason.'
};
/* Fields never typed on this page: sealed personal data, what only a card reader may say,
 * bytes the program makes, and ids the page makes itself. */
const NEVER_TYPED = new Set(['holder', 'pnr', 'phone', 'email', 'hsa_id', 'office_key', 'sealed']);
const READER_ONLY = new Set(['read_by_reader', 'chip', 'atr', 'hsa_id_checked']); // handover.completed
/* The steps when /api/steps cannot be read: type -> "field*:kind ..." (as in store/events.c). */
const FALLBACK_STEPS = {
  'office.registered': 'office* kind* name* town* place* booking* days*',
  'office.updated': 'office* name town place booking days',
  'admin.added': 'office* admin* name*',
  'admin.removed': 'office* admin*',
  'office.notice': 'office*',
  'office.closed': 'office*',
  'order.placed': 'order* care_provider* office* card_type*',
  'card.shipped': 'order* serial* rek* chip',
  'pin.sent': 'order*',
  'notice.received': 'order*',
  'card.collected': 'order*',
  'card.stored': 'order* locked*:bool',
  'card.returned': 'order* reason',
  'card.revoked': 'order* reason* police_report',
  'card.destroyed': 'order*',
  'appointment.booked': 'appointment* order* at_ms* place_kind* place*',
  'appointment.moved': 'appointment* at_ms* place_kind place',
  'appointment.cancelled': 'appointment*',
  'handover.completed': 'order* serial* id_checked*:bool right_person*:bool pin_envelope*:bool appointment',
  'handover.failed': 'order* reason* appointment',
  'reserve.issued': 'reserve* office* reason* valid_until_ms* receipt*',
  'reserve.returned': 'reserve*',
  'receipt.archived': 'reserve*',
  'catalogue.added': 'entry* office* person* unit*',
  'catalogue.audited': 'entry*',
  'catalogue.removed': 'entry*',
  'invoice.issued': 'office* month* handovers* extra_meetings* amount_ore*'
};
const HUB_ONLY = new Set(['office.registered', 'office.updated', 'admin.added', 'admin.removed',
  'node.bound', 'node.revoked', 'office.closed', 'order.placed', 'card.shipped', 'pin.sent',
  'card.revoked', 'invoice.issued', 'payload.purged', 'order.holder']);
const OFFICE_ONLY = new Set(['notice.received', 'card.collected', 'card.stored', 'card.returned',
  'appointment.booked', 'appointment.moved', 'appointment.cancelled', 'handover.completed',
  'handover.failed', 'reserve.issued', 'reserve.returned', 'receipt.archived']);
const ORDER_STATES = ['ordered', 'shipped', 'notice', 'collected', 'stored', 'handed-over',
  'returned', 'revoked', 'destroyed'];

/* ------------------------------------------------------------------ state */

const S = {
  lang: 'sv',
  session: null,
  csrf: '',
  steps: null,            // from /api/steps, or null
  orders: [],
  stock: [],
  alerts: [],
  conflicts: [],
  directory: [],
  offices: [],            // every office, listed or not (report offices)
  handovers: [],          // the hub: hand-overs per day over 13 weeks (report handovers)
  searchRows: null,       // the hub: the orders its search found (null: no search)
  searchError: '',
  invoice: null,          // this month (office) or the chosen month (hub)
  invoiceMonth: '',
  appts: null,            // null until loaded
  status: null,
  statusError: '',
  loadErrors: {},
  loadedAt: 0,
  cardsFilter: { state: 'open', text: '' },
  alertsOffice: '',
  search: '',
  cache: {},              // section id -> key of what it shows
  sig: '',                // the reports as last seen
  ver: 0,                 // bumped when they change
  dialogOpener: null,
  dialogSubmit: null,
  busy: false
};

/* ------------------------------------------------------------------ helpers */

function t(key, vars) {
  const d = DICT[S.lang] || DICT.sv;
  let s = Object.prototype.hasOwnProperty.call(d, key) ? d[key]
    : Object.prototype.hasOwnProperty.call(DICT.sv, key) ? DICT.sv[key] : key;
  if (vars) {
    s = s.replace(/\{([A-Za-z0-9_]+)\}/g, (m, k) =>
      Object.prototype.hasOwnProperty.call(vars, k) && vars[k] !== undefined && vars[k] !== null
        ? String(vars[k]) : m);
  }
  return s;
}
function has(key) {
  return Object.prototype.hasOwnProperty.call(DICT.sv, key);
}
/* t() for a value that may have no text: the value itself then. */
function tv(prefix, value) {
  return has(prefix + value) ? t(prefix + value) : String(value);
}

/* h('tag.class', {attr: value, onclick: fn, text: '...'}, children...) */
function h(spec, attrs, ...kids) {
  const m = /^([a-z0-9]+)((?:\.[A-Za-z0-9_-]+)*)$/.exec(spec);
  const el = document.createElement(m ? m[1] : spec);
  if (m && m[2]) el.className = m[2].slice(1).split('.').join(' ');
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else if (k === 'class') el.className = (el.className ? el.className + ' ' : '') + v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const SVGNS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') el.textContent = String(v);
    else if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  for (const kid of kids.flat()) if (kid) el.append(kid);
  return el;
}

function locale() {
  return S.lang === 'sv' ? 'sv-SE' : 'en-GB';
}
function fmtNum(n) {
  return new Intl.NumberFormat(locale()).format(Number(n) || 0);
}
function fmtKr(n) {
  return t('kr', { n: fmtNum(n) });
}
function fmtDate(ms) {
  return new Intl.DateTimeFormat(locale(), { weekday: 'long', day: 'numeric', month: 'long',
    year: 'numeric' }).format(new Date(ms));
}
function fmtDateShort(ms) {
  return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'short', year: 'numeric' })
    .format(new Date(ms));
}
function fmtTime(ms) {
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit' })
    .format(new Date(ms));
}
function fmtDateTime(ms) {
  return new Intl.DateTimeFormat(locale(), { weekday: 'short', day: 'numeric', month: 'short',
    hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}
function ago(ms) {
  const diff = (ms - Date.now()) / 1000;
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  if (abs < 60) return rtf.format(Math.round(diff), 'second');
  if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
  if (abs < 86400 * 60) return rtf.format(Math.round(diff / 86400), 'day');
  return rtf.format(Math.round(diff / (86400 * 30)), 'month');
}
function pad2(n) {
  return String(n).padStart(2, '0');
}
function monthOf(d) {
  return d.getFullYear() + '-' + pad2(d.getMonth() + 1);
}
function isoDate(d) {
  return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate());
}
function addMonths(d, n) {
  const r = new Date(d.getTime());
  const day = r.getDate();
  r.setDate(1);
  r.setMonth(r.getMonth() + n);
  const last = new Date(r.getFullYear(), r.getMonth() + 1, 0).getDate();
  r.setDate(Math.min(day, last));
  return r;
}
function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
    a.getDate() === b.getDate();
}
/* ISO week: [year, week] */
function isoWeek(d) {
  const x = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const day = x.getUTCDay() || 7;
  x.setUTCDate(x.getUTCDate() + 4 - day);
  const y0 = new Date(Date.UTC(x.getUTCFullYear(), 0, 1));
  return [x.getUTCFullYear(), Math.ceil(((x - y0) / 86400000 + 1) / 7)];
}
function shortId(hex) {
  return hex ? String(hex).slice(0, 8) + '…' : t('unknown');
}
function makeId(prefix, base) {
  const tail = Date.now().toString(36).toUpperCase() + Math.floor(Math.random() * 1296)
    .toString(36).toUpperCase();
  const clean = String(base || '').replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 40);
  return (prefix + '-' + (clean ? clean + '-' : '') + tail).slice(0, 64);
}
const WEEKDAYS = { mon: 0, tue: 1, wed: 2, thu: 3, fri: 4, sat: 5, sun: 6 };
function fmtDays(days) {
  if (!days) return t('none');
  const base = new Date(2024, 0, 1); // a Monday
  return String(days).split(',').map((d) => {
    const i = WEEKDAYS[d.trim()];
    if (i === undefined) return d;
    const x = new Date(base.getTime() + i * 86400000);
    return new Intl.DateTimeFormat(locale(), { weekday: 'short' }).format(x);
  }).join(', ');
}

/* ------------------------------------------------------------------ the API */

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJSON(path) {
  let res;
  try {
    res = await fetch(path, { credentials: 'same-origin', cache: 'no-store',
      headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new HttpError(0, t('err.network'));
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    throw new HttpError(res.status, body && body.error ? body.error : res.statusText);
  }
  return body;
}

async function postStep(type, fields) {
  const send = () => fetch('/api/step/' + encodeURIComponent(type), {
    method: 'POST',
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': S.csrf,
      Accept: 'application/json' },
    body: JSON.stringify(fields)
  });
  let res;
  try {
    res = await send();
    if (res.status === 403) {
      // the token may have been renewed: read the session again once
      const s = await getJSON('/api/session').catch(() => null);
      if (s && s.csrf && s.csrf !== S.csrf) {
        S.csrf = s.csrf;
        res = await send();
      }
    }
  } catch (e) {
    return { ok: false, status: 0, error: t('err.network') };
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (res.ok && body && body.ok) return { ok: true, seq: body.seq };
  return { ok: false, status: res.status, error: body && body.error ? body.error : res.statusText };
}

/* The rules answer in English; say the common ones in plain words. */
const RULE_PATTERNS = [
  [/^no order (\S+) is known/, 'rule.no-order'],
  [/^order (\S+) is ([a-z-]+); \S+ cannot follow/, 'rule.state', (m) => [m[1], tv('state.', m[2])]],
  [/^order (\S+) is ([a-z-]+)/, 'rule.state', (m) => [m[1], tv('state.', m[2])]],
  [/^card serial (\S+) is not the card shipped for order (\S+)/, 'rule.serial'],
  [/^serial (\S+) is not the card shipped for order (\S+)/, 'rule.serial'],
  [/^a hand-over needs id_checked/, 'rule.checks'],
  [/^the administrator's home is not an allowed/, 'rule.home'],
  [/^the slot is already booked by appointment (\S+)/, 'rule.slot'],
  [/^appointment (\S+) already exists/, 'rule.appt-exists'],
  [/^appointment (\S+) is not a booked meeting for order (\S+)/, 'rule.appt-other'],
  [/^appointment (\S+) is not booked/, 'rule.appt-notbooked'],
  [/^no appointment (\S+) is known/, 'rule.appt-notbooked'],
  [/^a card is stored locked/, 'rule.locked'],
  [/^organisation office (\S+) has \d+ administrator/, 'rule.admins'],
  [/^office (\S+)'s notice period has ended/, 'rule.notice-ended'],
  [/^office (\S+) is (already )?closed/, 'rule.office-closed'],
  [/^a reserve card is valid at most three months/, 'rule.reserve3m'],
  [/^reserve card (\S+) already exists/, 'rule.reserve-exists'],
  [/^no reserve( card)? (\S+) is known/, 'rule.reserve-unknown', (m) => [m[2]]],
  [/^reserve card (\S+) was already returned/, 'rule.reserve-returned'],
  [/^the receipt of (\S+) is already archived/, 'rule.receipt-archived'],
  [/^no catalogue entry (\S+) is known/, 'rule.entry-unknown'],
  [/^catalogue entry (\S+) already exists/, 'rule.entry-exists'],
  [/^catalogue entry (\S+) has lapsed/, 'rule.entry-lapsed'],
  [/^catalogue entry (\S+) was removed/, 'rule.entry-removed'],
  [/^the writer is not (bound|a node bound)/, 'rule.writer'],
  [/revoked this node's key|the hub revoked the writer's key/, 'rule.revoked'],
  [/^the writer's enrolment ended/, 'rule.expired'],
  [/^only the hub/, 'rule.hubonly'],
  [/^the card read \(chip/, 'rule.chip'],
  [/^(field .*|.* needs the field .*)$/, 'rule.field', (m) => [m[1]]]
];
function explainError(msg) {
  const text = String(msg || '').trim();
  for (const [re, key, fn] of RULE_PATTERNS) {
    const m = re.exec(text);
    if (m) {
      const args = fn ? fn(m) : m.slice(1);
      const vars = {};
      args.forEach((a, i) => { vars[String(i + 1)] = a; });
      return t(key, vars);
    }
  }
  return null;
}

/* ------------------------------------------------------------------ who am I */

function role() {
  return S.session ? S.session.node.role : 'office';
}
function isHub() {
  return role() === 'hub';
}
/* The offices this node works for, or null for all (the hub, or a mobile node whose offices
 * the session does not name). */
function myOffices() {
  if (!S.session || isHub()) return null;
  const n = S.session.node;
  if (Array.isArray(n.offices) && n.offices.length) return n.offices.slice();
  if (n.office) return [n.office];
  return null;
}
function mine(office) {
  const m = myOffices();
  return !m || m.includes(office);
}
function showOfficeColumn() {
  const m = myOffices();
  return !m || m.length > 1;
}
function officeName(id) {
  const d = S.offices.find((r) => r.office === id) || S.directory.find((r) => r.office === id);
  return d && d.name ? d.name : id;
}
function allOffices() {
  const set = new Set();
  S.offices.forEach((r) => set.add(r.office));
  S.stock.forEach((r) => set.add(r.office));
  S.directory.forEach((r) => set.add(r.office));
  return [...set].sort();
}
function orderById(id) {
  return S.orders.find((o) => o.order_id === id) ||
    (S.searchRows || []).find((o) => o.order_id === id) || null;
}
function bookedAppts(order) {
  if (!S.appts) return [];
  return S.appts.filter((a) => a.order === order && (a.state || 'booked') === 'booked')
    .sort((a, b) => a.at_ms - b.at_ms);
}

/* ------------------------------------------------------------------ loading */

async function loadSession() {
  const s = await getJSON('/api/session');
  if (!s || !s.node) throw new HttpError(500, 'no session');
  S.session = s;
  S.csrf = s.csrf || '';
}

async function loadSteps() {
  try {
    const steps = await getJSON('/api/steps');
    S.steps = Array.isArray(steps) ? steps : null;
  } catch (e) {
    S.steps = null;
  }
}

function officeQuery(prefix) {
  const m = myOffices();
  return m && m.length === 1 ? prefix + 'office=' + encodeURIComponent(m[0]) : '';
}

function invoiceMonth() {
  return S.invoiceMonth || monthOf(new Date());
}

async function loadInvoice() {
  try {
    S.invoice = await getJSON('/api/report/invoice?month=' + encodeURIComponent(invoiceMonth()) +
      officeQuery('&'));
    delete S.loadErrors.invoice;
  } catch (e) {
    S.loadErrors.invoice = e.message;
  }
}

/* The hub's search: at most SEARCH_MAX orders whose id, serial or care provider contains the
 * text, found by the daemon (the hub never loads every order). */
const SEARCH_MAX = 50;
async function loadSearch() {
  if (!isHub() || S.search.length < 2) {
    S.searchRows = null;
    S.searchError = '';
    return;
  }
  try {
    S.searchRows = await getJSON('/api/report/orders?limit=' + (SEARCH_MAX + 1) + '&match=' +
      encodeURIComponent(S.search));
    S.searchError = '';
  } catch (e) {
    S.searchRows = null;
    S.searchError = e.status === 400 ? t('search.chars') : e.message;
  }
}

async function loadReports() {
  /* The hub never loads every order of the country: its chart reads hand-overs per day, and its
   * search asks the daemon. */
  const jobs = isHub() ? { handovers: '/api/report/handovers' }
    : { orders: '/api/report/orders' + officeQuery('?') };
  Object.assign(jobs, {
    stock: '/api/report/stock',
    alerts: '/api/report/alerts',
    conflicts: '/api/report/conflicts',
    directory: '/api/report/directory',
    offices: '/api/report/offices',
    appts: '/api/report/appointments' + officeQuery('?')
  });
  const keys = Object.keys(jobs);
  const results = await Promise.allSettled([...keys.map((k) => getJSON(jobs[k])), loadInvoice(),
    loadSearch()]);
  let loginLost = false;
  keys.forEach((k, i) => {
    const r = results[i];
    if (r.status === 'fulfilled') {
      S[k] = Array.isArray(r.value) ? r.value : [];
      delete S.loadErrors[k];
    } else {
      if (r.reason.status === 401) loginLost = true;
      S.loadErrors[k] = r.reason.message;
    }
  });
  bumpVersion();
  S.loadedAt = Date.now();
  if (loginLost) showBanner(t('err.login'), 'bad');
  else if (Object.keys(S.loadErrors).length) showBanner(Object.values(S.loadErrors)[0], 'bad');
  else showBanner('', '');
}

/* S.ver changes only when what the reports say changed: sections compare it instead of the
 * (possibly large) reports themselves, every two seconds. */
function bumpVersion() {
  const sig = JSON.stringify([S.orders, S.handovers, S.stock, S.alerts, S.conflicts, S.directory,
    S.offices, S.invoice, S.appts, S.searchRows, S.searchError, S.loadErrors]);
  if (sig !== S.sig) {
    S.sig = sig;
    S.ver = (S.ver || 0) + 1;
  }
}

async function loadStatus() {
  try {
    S.status = await getJSON('/api/status');
    S.statusError = '';
  } catch (e) {
    S.statusError = e.status === 401 ? t('err.login') : e.status === 0 ? t('err.network')
      : e.message;
  }
}

/* ------------------------------------------------------------------ messages */

let announceTimer = 0;
function announce(msg, kind) {
  const live = document.getElementById('live');
  live.textContent = '';
  live.className = 'live' + (kind ? ' ' + kind : '');
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => {
    live.textContent = msg;
  }, 60);
}
function showBanner(msg, kind) {
  let b = document.getElementById('banner');
  if (!msg) {
    if (b) b.remove();
    return;
  }
  if (!b) {
    b = h('p.banner', { id: 'banner', role: 'alert' });
    document.getElementById('main').prepend(b);
  }
  if (b.textContent !== msg) b.textContent = msg;
  b.className = 'banner ' + (kind || '');
}

/* ------------------------------------------------------------------ page frame */

function applyStatic() {
  document.documentElement.lang = S.lang;
  const put = (el, text) => {
    if (el.textContent !== text) el.textContent = text;
  };
  document.querySelectorAll('[data-i18n]').forEach((el) => put(el, t(el.getAttribute('data-i18n'))));
  const title = isHub() ? t('app.title.hub') : t('app.title');
  put(document.getElementById('page-title'), title);
  if (document.title !== title) document.title = title;
  const other = S.lang === 'sv' ? 'en' : 'sv';
  const tog = document.getElementById('lang-toggle');
  put(tog, t('lang.other'));
  tog.setAttribute('lang', other);
  document.getElementById('nav').setAttribute('aria-label', t('nav.label'));
  put(document.getElementById('foot-text'), isHub() ? t('foot.hub') : t('foot'));
  const who = document.getElementById('whoami');
  if (S.session) {
    const n = S.session.node;
    put(who, n.office && !isHub()
      ? t('whoami.office', { name: n.name || shortId(n.id), role: tv('role.', n.role),
        office: officeName(n.office) })
      : t('whoami', { name: n.name || shortId(n.id), role: tv('role.', n.role) }));
  }
}

function sections() {
  return isHub() ? HUB_SECTIONS : OFFICE_SECTIONS;
}

function buildPage() {
  const main = document.getElementById('main');
  const banner = document.getElementById('banner');
  main.textContent = '';
  if (banner) main.append(banner);
  const nav = document.getElementById('nav');
  nav.textContent = '';
  const list = h('ul');
  const grid = h('div.sections');
  S.cache = {};
  for (const sec of sections()) {
    if (sec.when && !sec.when()) continue;
    const hid = 'h-' + sec.id;
    const el = h('section.card', { id: 'sec-' + sec.id, 'aria-labelledby': hid,
      class: sec.wide ? 'wide' : 'half' },
    h('h2', { id: hid, tabindex: '-1', text: t(sec.title) }),
    h('div.sec-controls'), h('div.sec-body'));
    if (sec.controls) sec.controls(el.querySelector('.sec-controls'));
    grid.append(el);
    if (!sec.noNav) {
      list.append(h('li', null, h('a', { href: '#sec-' + sec.id, text: t(sec.title) })));
    }
  }
  nav.append(list);
  main.append(grid);
  applyStatic();
}

function renderAll(force) {
  for (const sec of sections()) {
    const el = document.getElementById('sec-' + sec.id);
    if (!el) continue;
    let key;
    try {
      key = S.lang + '|' + JSON.stringify(sec.key ? sec.key() : null);
    } catch (e) {
      key = String(Math.random());
    }
    if (!force && S.cache[sec.id] === key) continue;
    S.cache[sec.id] = key;
    const body = el.querySelector('.sec-body');
    const active = document.activeElement;
    const fkey = active && body.contains(active) ? active.getAttribute('data-fkey') : null;
    const fresh = h('div.sec-body');
    try {
      sec.render(fresh);
    } catch (e) {
      fresh.append(h('p.bad', { text: String(e && e.message ? e.message : e) }));
    }
    body.replaceWith(fresh);
    if (fkey) {
      const again = findFocusTarget(fresh, fkey);
      if (again) again.focus();
      else el.querySelector('h2').focus();
    }
  }
  renderSyncLine();
  applyStatic();
  markScrollables();
}

/* A table wider than its box scrolls inside it: such a box must be reachable by keyboard. */
function markScrollables() {
  document.querySelectorAll('.table-wrap').forEach((w) => {
    const over = w.scrollWidth > w.clientWidth + 1;
    if (over && !w.hasAttribute('tabindex')) {
      w.setAttribute('tabindex', '0');
      w.setAttribute('role', 'region');
      const cap = w.querySelector('caption');
      const sec = w.closest('section');
      const label = cap ? cap.textContent : sec ? sec.querySelector('h2').textContent : '';
      w.setAttribute('aria-label', t('table.region', { name: label }));
    } else if (!over && w.hasAttribute('tabindex')) {
      w.removeAttribute('tabindex');
      w.removeAttribute('role');
      w.removeAttribute('aria-label');
    }
  });
}

/* The same button again after a re-render, or else the next step of the same order. */
function findFocusTarget(root, fkey) {
  const all = [...root.querySelectorAll('[data-fkey]')];
  const same = all.find((x) => x.getAttribute('data-fkey') === fkey);
  if (same) return same;
  const m = /"order":"((?:[^"\\]|\\.)*)"/.exec(fkey) || /^other\|(.*)$/.exec(fkey);
  if (!m) return null;
  const order = m[1];
  return all.find((x) => {
    const k = x.getAttribute('data-fkey');
    return k.includes('"order":' + JSON.stringify(order)) || k === 'other|' + order;
  }) || null;
}

/* ------------------------------------------------------------------ shared pieces */

function empty(text) {
  return h('p.empty', { text });
}

/* A table that becomes a list of cards on a narrow screen (app.css uses data-label). */
function table(cols, rows, opts) {
  const o = opts || {};
  const tbl = h('table.rtable' + (o.cls ? '.' + o.cls : ''));
  if (o.caption) tbl.append(h('caption', { class: o.captionHidden ? 'vh' : null, text: o.caption }));
  tbl.append(h('thead', null, h('tr', null, cols.map((c) =>
    h('th', { scope: 'col', class: c.num ? 'num' : null, text: c.label })))));
  const tb = h('tbody');
  for (const r of rows) {
    const tr = h('tr', { class: o.rowClass ? o.rowClass(r) : null });
    for (const c of cols) {
      const v = c.cell(r);
      const td = h(c.head ? 'th' : 'td', { 'data-label': c.label, class: c.num ? 'num' : null,
        scope: c.head ? 'row' : null });
      if (v instanceof Node) td.append(v);
      else if (Array.isArray(v)) td.append(...v.filter(Boolean));
      else td.textContent = v === undefined || v === null || v === '' ? t('none') : String(v);
      tr.append(td);
    }
    tb.append(tr);
  }
  tbl.append(tb);
  if (o.foot) tbl.append(h('tfoot', null, o.foot));
  return h('div.table-wrap', null, tbl);
}

function stepButton(type, prefill, opts) {
  const o = opts || {};
  const label = o.label || t('step.' + type);
  const key = type + '|' + JSON.stringify(prefill || {});
  const b = h('button.btn' + (o.secondary ? '.secondary' : '.primary') + '.small',
    { type: 'button', 'data-fkey': key }, label,
    o.context ? h('span.vh', { text: ' – ' + o.context }) : null);
  b.addEventListener('click', () => openStep(type, prefill || {}, b, o.dialog || {}));
  return b;
}

/* Steps an office may record for an order in this state, the likely next one first. */
function orderSteps(o) {
  const hub = isHub();
  const booked = bookedAppts(o.order_id);
  let list = [];
  if (hub) {
    if (o.state === 'ordered') list = ['card.shipped', 'pin.sent', 'card.revoked'];
    else if (['shipped', 'notice', 'collected', 'stored'].includes(o.state)) list = ['pin.sent', 'card.revoked'];
    else if (o.state === 'handed-over') list = ['card.revoked'];
    else if (o.state === 'returned' || o.state === 'revoked') list = ['card.destroyed'];
    return list;
  }
  switch (o.state) {
    case 'shipped': list = ['notice.received', 'card.returned']; break;
    case 'notice': list = ['card.collected', 'card.returned']; break;
    case 'collected': list = ['card.stored', 'card.returned']; break;
    case 'stored':
      list = booked.length
        ? ['handover.completed', 'handover.failed', 'appointment.moved', 'appointment.cancelled',
          'card.returned']
        : ['appointment.booked', 'handover.completed', 'handover.failed', 'card.returned'];
      break;
    case 'returned': case 'revoked': list = ['card.destroyed']; break;
    default: list = [];
  }
  return list;
}

function prefillFor(type, o) {
  const p = { order: o.order_id };
  const booked = bookedAppts(o.order_id);
  if ((type === 'appointment.moved' || type === 'appointment.cancelled') && booked.length) {
    return { appointment: booked[0].appointment };
  }
  return p;
}

function orderActions(o) {
  const steps = orderSteps(o);
  const box = h('div.actions');
  if (!steps.length) {
    box.append(h('span.muted', { text: o.state === 'ordered' ? t('cards.wait.hub')
      : t('cards.done') }));
    return box;
  }
  const first = steps[0];
  box.append(stepButton(first, prefillFor(first, o), { context: t('step.for', { order: o.order_id }) }));
  if (steps.length > 1) {
    const b = h('button.btn.secondary.small', { type: 'button', 'data-fkey': 'other|' + o.order_id },
      t('step.other'), h('span.vh', { text: ' – ' + t('step.for', { order: o.order_id }) }));
    b.addEventListener('click', () => openChooser(o, steps.slice(1), b));
    box.append(b);
  }
  return box;
}

function stateText(o) {
  let s = tv('state.', o.state);
  if (o.failed_meetings) s += ' · ' + t('rebook.count', { n: o.failed_meetings });
  const booked = bookedAppts(o.order_id);
  if (o.state === 'stored' && booked.length) {
    s += ' · ' + t('book.booked', { time: fmtDateTime(booked[0].at_ms) });
  }
  return s;
}

function orderTable(rows, opts) {
  const o = opts || {};
  const cols = [
    { label: t('col.order'), cell: (r) => r.order_id, head: true },
    showOfficeColumn() || isHub() ? { label: t('col.office'), cell: (r) => officeName(r.office) } : null,
    { label: t('col.provider'), cell: (r) => r.care_provider },
    { label: t('col.serial'), cell: (r) => h('span.mono', { text: r.serial || t('none') }) },
    o.noState ? null : { label: t('col.state'), cell: (r) => stateText(r) },
    { label: t('col.action'), cell: (r) => orderActions(r) }
  ].filter(Boolean);
  return table(cols, rows, { caption: o.caption, captionHidden: true });
}

function officeOrders() {
  return S.orders.filter((o) => mine(o.office));
}
function officeAlerts() {
  return S.alerts.filter((a) => mine(a.office));
}
const RESERVE_ALERTS = new Set(['reserve-overdue', 'receipt-not-archived', 'audit-overdue',
  'catalogue-lapsed']);
const KEY_ALERTS = new Set(['fork', 'revoked-key-wrote']);

function startOfToday() {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}
function meetingsDue() {
  if (!S.appts) return [];
  const end = startOfToday() + 86400000;
  return S.appts.filter((a) => (a.state || 'booked') === 'booked' && mine(a.office) &&
    a.at_ms < end).sort((a, b) => a.at_ms - b.at_ms);
}
function meetingsComing() {
  if (!S.appts) return [];
  const from = startOfToday() + 86400000;
  return S.appts.filter((a) => (a.state || 'booked') === 'booked' && mine(a.office) &&
    a.at_ms >= from).sort((a, b) => a.at_ms - b.at_ms).slice(0, 20);
}
function waitingForBooking(failed) {
  return officeOrders().filter((o) => o.state === 'stored' &&
    (failed ? o.failed_meetings > 0 : !o.failed_meetings) && !bookedAppts(o.order_id).length);
}

/* ------------------------------------------------------------------ alerts in words */

const ALERT_DETAIL = {
  'not-received': [/^shipped (\d+) days ago/],
  'stored-long': [/^in storage (\d+) days/],
  'reserve-overdue': [/^valid until (\S+), not returned/],
  'audit-overdue': [/^last audit (\S+)/],
  'catalogue-lapsed': [/^not confirmed since ([^;]+)/],
  'receipt-not-archived': [/^receipt (\S+) of (\S+) not archived/],
  'too-few-administrators': [/^(\d+) administrator/],
  'notice-holding-cards': [/^(\S+) \(notice ends ([^)]*)\), (\d+) card/,
    (m) => [tv('office.', m[1]), m[2], m[3]]],
  'fork': [/seq (\d+)\b.*applied up to seq (\d+)/],
  'revoked-key-wrote': [/^revoked from seq (\d+), yet entries up to seq (\d+)/]
};
function alertTitle(a) {
  return tv('alert.', a.alert);
}
function alertDetail(a) {
  const rule = ALERT_DETAIL[a.alert];
  if (rule) {
    const m = rule[0].exec(a.detail || '');
    if (m) {
      const args = rule[1] ? rule[1](m) : m.slice(1);
      const vars = {};
      args.forEach((x, i) => { vars[String(i + 1)] = x; });
      return t('ad.' + a.alert, vars);
    }
  }
  return a.detail || '';
}
function alertSubject(a) {
  if (KEY_ALERTS.has(a.alert)) return shortId(a.subject);
  if (a.alert === 'too-few-administrators' || a.alert === 'notice-holding-cards') {
    return officeName(a.subject);
  }
  return a.subject;
}
function alertAction(a) {
  if (isHub()) return null;
  const s = a.subject;
  switch (a.alert) {
    case 'not-received':
      return stepButton('notice.received', { order: s }, { label: t('alert.action.notice'),
        context: s });
    case 'stored-long': {
      const o = orderById(s);
      if (o && o.state === 'collected') return stepButton('card.stored', { order: s }, { context: s });
      if (o && bookedAppts(s).length) return null;
      return stepButton('appointment.booked', { order: s }, { label: t('alert.action.book'),
        context: s });
    }
    case 'reserve-overdue':
      return stepButton('reserve.returned', { reserve: s }, { label: t('alert.action.returned'),
        context: s });
    case 'receipt-not-archived':
      return stepButton('receipt.archived', { reserve: s }, { label: t('alert.action.archive'),
        context: s });
    case 'audit-overdue':
      return stepButton('catalogue.audited', { entry: s }, { label: t('alert.action.audit'),
        context: s });
    case 'catalogue-lapsed':
      return stepButton('catalogue.removed', { entry: s }, { label: t('alert.action.remove'),
        context: s, secondary: true });
    default:
      return null;
  }
}
function alertTable(rows, withOffice) {
  const cols = [
    { label: t('col.what'), cell: (a) => h('span', { class: KEY_ALERTS.has(a.alert) ? 'tag bad'
      : 'tag warn', text: alertTitle(a) }) },
    withOffice ? { label: t('col.office'), cell: (a) => a.office ? officeName(a.office) : t('none') } : null,
    { label: t('col.subject'), cell: (a) => h('span.mono', { text: alertSubject(a) }) },
    { label: t('col.detail'), cell: (a) => alertDetail(a) },
    isHub() ? null : { label: t('col.action'), cell: (a) => alertAction(a) || t('none') }
  ].filter(Boolean);
  return table(cols, rows);
}

/* ------------------------------------------------------------------ the sync sentence */

function pathText(p) {
  return p ? tv('path.', p) : t('path.none');
}
function syncSentence() {
  const st = S.status;
  if (S.statusError) return { text: S.statusError, cls: 'bad' };
  if (!st) return { text: '', cls: '' };
  if (!st.daemon_running) return { text: t('sync.nodaemon'), cls: 'warn' };
  if (isHub()) {
    const peers = st.peers || [];
    const nodes = new Set(peers.map((p) => p.node));
    const conn = new Set(peers.filter((p) => p.connected).map((p) => p.node));
    const late = [...nodes].filter((n) => !peers.some((p) => p.node === n &&
      p.last_sync_ms && Date.now() - p.last_sync_ms < 7 * 86400000)).length;
    return { text: t('sync.hub', { connected: conn.size, total: nodes.size, late }),
      cls: late ? 'warn' : 'ok' };
  }
  const hub = st.hub;
  if (!hub) return { text: '', cls: '' };
  const n = hub.waiting || 0;
  let waiting = n === 0 ? t('sync.allsent') : n === 1 ? t('sync.waiting.one')
    : t('sync.waiting', { n: fmtNum(n) });
  if (hub.connected) {
    if (n) waiting = t('sync.waiting.live', { n: fmtNum(n) });
    return { text: t('sync.connected', { path: pathText(hub.path), waiting }), cls: 'ok' };
  }
  if (!hub.last_contact_ms) {
    return { text: t('sync.never', { waiting: n ? waiting : t('sync.allsent') }), cls: 'warn' };
  }
  const old = Date.now() - hub.last_contact_ms > 7 * 86400000;
  const text = t('sync.last', { ago: ago(hub.last_contact_ms), path: pathText(hub.path), waiting }) +
    (old ? ' ' + t('sync.old') : '');
  return { text, cls: old ? 'warn' : n ? 'neutral' : 'ok' };
}
function renderSyncLine() {
  const line = document.getElementById('sync-line');
  const s = syncSentence();
  if (line.textContent !== s.text) line.textContent = s.text;
  line.className = 'sync-line ' + s.cls;
  line.hidden = !s.text;
}

/* ------------------------------------------------------------------ office sections */

function tile(count, label, target, tone) {
  const cls = count ? tone || 'todo' : 'zero';
  return h('li', null, h('a.tile', { href: '#sec-' + target, class: cls },
    h('span.tile-l', { text: label }), h('span.tile-n', { text: fmtNum(count) })));
}

function renderToday(el) {
  const due = meetingsDue().length;
  const notice = officeOrders().filter((o) => o.state === 'notice').length;
  const collected = officeOrders().filter((o) => o.state === 'collected').length;
  const shipped = officeOrders().filter((o) => o.state === 'shipped').length;
  const book = waitingForBooking(false).length;
  const rebook = waitingForBooking(true).length;
  const todo = officeAlerts().length;
  el.append(h('p.today-date', { text: t('today.date', { date: fmtDate(Date.now()) }) }));
  const list = h('ul.tiles');
  if (S.appts) list.append(tile(due, t('tile.meetings'), 'meetings'));
  list.append(tile(notice, t('tile.collect'), 'post'), tile(collected, t('tile.store'), 'post'),
    tile(book, t('tile.book'), 'book'), tile(rebook, t('tile.rebook'), 'rebook'),
    tile(todo, t('tile.todo'), 'todo', 'warn'), tile(shipped, t('tile.notice'), 'post', 'info'));
  el.append(list);
  if (!due && !notice && !collected && !book && !rebook && !todo) {
    el.append(h('p.ok-text', { text: t('today.nothing') }));
  }
}

function readerSentence(card) {
  const m = card.match || '';
  let r;
  if ((r = /^matches order (\S+?)(?: \((.*)\))?$/.exec(m)) || card.matches) {
    const order = card.order || (r && r[1]);
    const o = orderById(order);
    const serial = o && o.serial ? o.serial : card.chip;
    const hsa = /HSA/.test(m);
    return { ok: true, order, text: t('reader.match', { serial, order }),
      extra: hsa ? t('reader.match.hsa') : t('reader.match.chip') };
  }
  if (/^the card gives no chip serial/.test(m)) return { ok: false, warn: true, text: t('reader.nochip') };
  if ((r = /^no card with chip (\S+) was shipped/.exec(m))) {
    return { ok: false, text: t('reader.unknown', { chip: r[1] }) };
  }
  if ((r = /^the card of order (\S+), which is ([a-z-]+)/.exec(m))) {
    return { ok: false, order: r[1], text: t('reader.wrongstate', { order: r[1],
      state: tv('state.', r[2]) }) };
  }
  if ((r = /^the chip is order (\S+)'s card, but/.exec(m))) {
    return { ok: false, order: r[1], text: t('reader.wrongholder', { order: r[1] }) };
  }
  if ((r = /^looking up the card: (.*)$/.exec(m))) {
    return { ok: false, warn: true, text: t('reader.lookup', { why: r[1] }) };
  }
  return { ok: false, text: t('reader.refused', { why: m || t('unknown') }) };
}

function renderReader(el) {
  const st = S.status;
  if (!st) {
    el.append(empty(S.statusError || t('loading')));
    return;
  }
  if (!st.daemon_running) {
    el.append(empty(t('reader.daemon')));
    return;
  }
  const rd = st.reader;
  if (!rd) {
    el.append(empty(t('reader.off')));
    return;
  }
  if (rd.service === 'down') {
    // The daemon's own words (English) after the Swedish sentence, marked as English.
    el.append(h('p.box.warn', null, t('reader.service.down'),
      rd.detail ? h('span.small.block', { lang: 'en', text: rd.detail }) : null));
    return;
  }
  if (rd.service === 'starting') {
    el.append(empty(t('reader.service.starting')));
    return;
  }
  const readers = rd.readers || [];
  if (!readers.length) {
    el.append(h('p.box.warn', { text: t('reader.noreaders') }));
    return;
  }
  for (const r of readers) {
    const box = h('div.reader');
    if (readers.length > 1) box.append(h('p.reader-name', { text: t('reader.name', { name: r.name }) }));
    const c = r.card;
    if (!c) {
      box.append(h('p.box.neutral', { text: t('reader.none') }));
    } else if (c.error) {
      box.append(h('p.box.bad', { text: t('reader.error', { why: c.error }) }));
    } else {
      const s = readerSentence(c);
      const p = h('div.box', { class: s.ok ? 'ok' : s.warn ? 'warn' : 'bad' },
        h('p.big', { text: s.text }), s.extra ? h('p', { text: s.extra }) : null,
        c.since_ms ? h('p.small', { text: t('reader.since', { time: fmtTime(c.since_ms) }) }) : null);
      box.append(p);
      if (s.ok && s.order) {
        const o = orderById(s.order);
        if (o && o.state === 'stored') {
          const pre = { order: o.order_id, serial: o.serial };
          const today = bookedAppts(o.order_id)[0];
          if (today) pre.appointment = today.appointment;
          box.append(h('p', null, stepButton('handover.completed', pre, {
            label: t('reader.handover', { order: o.order_id }), dialog: { fromReader: true } })));
        }
      }
    }
    el.append(box);
  }
  el.append(h('p.small.muted', { text: t('reader.help') }));
}
function readerKey() {
  const st = S.status;
  if (!st) return [S.statusError];
  return [st.daemon_running, st.reader, S.ver];
}

function renderMeetings(el) {
  if (!S.appts) {
    el.append(empty(t('meetings.unavailable')));
    return;
  }
  const due = meetingsDue();
  const apptCols = [
    { label: t('col.time'), cell: (a) => fmtDateTime(a.at_ms), head: true },
    { label: t('col.order'), cell: (a) => a.order },
    { label: t('col.place'), cell: (a) => tv('place_kind.', a.place_kind) + (a.place ? ': ' + a.place : '') },
    { label: t('col.action'), cell: (a) => {
      const o = orderById(a.order);
      const box = h('div.actions');
      if (o && o.state === 'stored') {
        box.append(stepButton('handover.completed', { order: a.order, appointment: a.appointment },
          { context: a.order }));
        box.append(stepButton('handover.failed', { order: a.order, appointment: a.appointment },
          { context: a.order, secondary: true }));
      }
      box.append(stepButton('appointment.moved', { appointment: a.appointment, order: a.order },
        { context: a.order, secondary: true }));
      box.append(stepButton('appointment.cancelled', { appointment: a.appointment, order: a.order },
        { context: a.order, secondary: true }));
      return box;
    } }
  ];
  if (due.length) el.append(table(apptCols, due, { caption: t('sec.meetings'), captionHidden: true }));
  else el.append(empty(t('meetings.none')));
  const coming = meetingsComing();
  if (coming.length) {
    el.append(h('h3', { text: t('meetings.upcoming') }));
    el.append(table(apptCols, coming, { caption: t('meetings.upcoming'), captionHidden: true }));
  }
}

function renderPost(el) {
  const groups = [
    ['notice', 'post.notice'], ['collected', 'post.collected'], ['shipped', 'post.shipped']
  ];
  let any = false;
  for (const [state, key] of groups) {
    const rows = officeOrders().filter((o) => o.state === state);
    if (!rows.length) continue;
    any = true;
    el.append(h('h3', { text: t(key) + ' (' + rows.length + ')' }));
    el.append(orderTable(rows, { noState: true, caption: t(key) }));
  }
  if (!any) el.append(empty(t('post.none')));
}

function renderBook(el) {
  const rows = waitingForBooking(false);
  if (!S.appts) el.append(h('p.small.muted', { text: t('book.nobookings') }));
  if (rows.length) el.append(orderTable(rows, { caption: t('sec.book') }));
  else el.append(empty(t('book.none')));
}

function renderRebook(el) {
  const rows = waitingForBooking(true);
  if (rows.length) el.append(orderTable(rows, { caption: t('sec.rebook') }));
  else el.append(empty(t('rebook.none')));
}

function renderTodo(el) {
  const rows = officeAlerts().filter((a) => !RESERVE_ALERTS.has(a.alert));
  if (rows.length) el.append(alertTable(rows, showOfficeColumn()));
  else el.append(empty(t('todo.none')));
}

function renderReserve(el) {
  el.append(h('p.small.muted', { text: t('reserve.intro') }));
  const rows = officeAlerts().filter((a) => RESERVE_ALERTS.has(a.alert));
  if (rows.length) {
    el.append(h('h3', { text: t('reserve.alerts') }));
    el.append(alertTable(rows, showOfficeColumn()));
  } else {
    el.append(empty(t('reserve.none')));
  }
  el.append(h('h3', { text: t('reserve.actions') }));
  const box = h('div.actions.wrap');
  for (const type of ['reserve.issued', 'reserve.returned', 'receipt.archived', 'catalogue.added',
    'catalogue.audited', 'catalogue.removed']) {
    box.append(stepButton(type, {}, { secondary: type !== 'reserve.issued' }));
  }
  el.append(box);
}

function monthControl(el, id) {
  const input = h('input', { id, type: 'month', value: invoiceMonth(), max: monthOf(new Date()),
    pattern: '[0-9]{4}-[0-9]{2}', placeholder: 'YYYY-MM', 'data-fkey': id });
  input.addEventListener('change', async () => {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(input.value)) return;
    S.invoiceMonth = input.value;
    await loadInvoice();
    bumpVersion();
    renderAll();
  });
  el.append(h('div.field.inline', null, h('label', { for: id, text: t('earnings.month') }), input));
}

function csvLink(office) {
  const href = '/api/report/invoice?month=' + encodeURIComponent(invoiceMonth()) +
    (office ? '&office=' + encodeURIComponent(office) : '') + '&format=csv';
  return h('a.download', { href, download: 'kortnod-invoice-' + invoiceMonth() + '.csv',
    text: office ? t('earnings.csv') : t('invoice.csv') });
}

function renderEarnings(el) {
  const inv = S.invoice;
  const rows = inv && Array.isArray(inv.offices) ? inv.offices.filter((r) => mine(r.office)) : [];
  if (!rows.length) {
    el.append(empty(S.loadErrors.invoice || t('earnings.none')));
    return;
  }
  for (const r of rows) {
    const wrap = h('div.earn');
    if (rows.length > 1) wrap.append(h('h3', { text: t('earnings.office', { office: officeName(r.office) }) }));
    const nums = h('ul.figures',
      null,
      h('li', null, h('span.fig-n', { text: fmtNum(r.handovers) }), h('span.fig-l', { text: t('earnings.handovers') })),
      r.kind === 'private'
        ? h('li', null, h('span.fig-n', { text: fmtNum(r.extra_meetings) }), h('span.fig-l', { text: t('earnings.extra') }))
        : null,
      h('li', null, h('span.fig-n', { text: fmtKr(r.amount_sek) }), h('span.fig-l', { text: t('earnings.amount') })));
    wrap.append(nums);
    wrap.append(h('p', { text: r.kind === 'private'
      ? t('earnings.private', { n: r.handovers, x: r.extra_meetings, sum: fmtKr(r.amount_sek) })
      : t('earnings.org', { n: r.handovers, sum: fmtKr(r.amount_sek), vat: fmtKr(r.vat_sek) }) }));
    if (r.issued_sek !== null && r.issued_sek !== undefined) {
      wrap.append(h('p', { text: t('earnings.issued', { sum: fmtKr(r.issued_sek) }) }));
    }
    wrap.append(h('p', null, csvLink(r.office)));
    el.append(wrap);
  }
}

function cardsControls(el) {
  const sel = h('select', { id: 'cards-state' });
  sel.append(h('option', { value: 'open', text: t('cards.open') }));
  sel.append(h('option', { value: 'all', text: t('state.all') }));
  for (const s of ORDER_STATES) sel.append(h('option', { value: s, text: tv('state.', s) }));
  sel.value = S.cardsFilter.state;
  sel.addEventListener('change', () => {
    S.cardsFilter.state = sel.value;
    renderAll();
  });
  const txt = h('input', { id: 'cards-text', type: 'search', value: S.cardsFilter.text,
    autocomplete: 'off' });
  txt.addEventListener('input', () => {
    S.cardsFilter.text = txt.value;
    renderAll();
  });
  el.append(h('div.filters', null,
    h('div.field.inline', null, h('label', { for: 'cards-state', text: t('cards.filter.state') }), sel),
    h('div.field.inline', null, h('label', { for: 'cards-text', text: t('cards.filter.text') }), txt)));
}

function renderCards(el) {
  const f = S.cardsFilter;
  const q = f.text.trim().toLowerCase();
  const all = officeOrders();
  const rows = all.filter((o) => {
    if (f.state === 'open' && !['ordered', 'shipped', 'notice', 'collected', 'stored'].includes(o.state)) return false;
    if (f.state !== 'open' && f.state !== 'all' && o.state !== f.state) return false;
    if (q && !(o.order_id.toLowerCase().includes(q) || (o.serial || '').toLowerCase().includes(q) ||
      (o.care_provider || '').toLowerCase().includes(q))) return false;
    return true;
  });
  const shown = rows.slice(0, 100);
  el.append(h('p.small.muted', { text: t('cards.count', { shown: shown.length, total: rows.length }) }));
  if (shown.length) el.append(orderTable(shown, { caption: t('sec.cards') }));
  else el.append(empty(t('cards.none')));
}

function peersTable(peers) {
  return table([
    { label: t('col.node'), cell: (p) => h('span.mono', { text: peerName(p.node) }), head: true },
    { label: t('col.path'), cell: (p) => pathText(p.path) },
    { label: t('col.addr'), cell: (p) => h('span.mono', { text: p.addr || t('none') }) },
    { label: t('col.connected'), cell: (p) => p.connected ? h('span.tag.ok', { text: t('yes') })
      : p.forgotten ? h('span.tag.warn', { text: t('nodes.forgotten') }) : t('no') },
    { label: t('col.last'), cell: (p) => p.last_sync_ms ? ago(p.last_sync_ms) : t('nodes.never'),
      },
    { label: t('col.inout'), cell: (p) => fmtNum(p.entries_in) + ' / ' + fmtNum(p.entries_out) },
    { label: t('col.waiting'), cell: (p) => typeof p.waiting === 'number' ? fmtNum(p.waiting) : t('none'),
      num: true },
    // The hub: what that computer lacks, as a sealed file for a USB stick.
    isHub() ? { label: t('col.file'), cell: (p) => h('a.download', { href: '/api/bundle?for=' + p.node,
      download: 'kortnod-bundle-' + shortId(p.node) + '.knb', text: t('nodes.file'),
      'aria-label': t('nodes.file.for', { node: peerName(p.node) }) }) } : null
  ].filter(Boolean), peers, { rowClass: (p) => !p.connected && (!p.last_sync_ms ||
    Date.now() - p.last_sync_ms > 7 * 86400000) ? 'late' : null });
}
function peerName(node) {
  if (S.status && S.status.hub && S.status.hub.node === node) return t('who.hub') + ' (' + shortId(node) + ')';
  if (S.session && S.session.node.id === node) return S.session.node.name;
  return shortId(node);
}

/* Reading in a sealed file from a USB stick (POST /api/bundle/import): a form in the section's
 * controls, which are drawn once, so that a chosen file stays chosen while the section is drawn
 * again around it. */
function importControls(el) {
  const input = h('input', { id: 'import-file', type: 'file', accept: '.knb,.kbundle,application/octet-stream',
    'aria-describedby': 'import-hint' });
  const out = h('div', { id: 'import-result', role: 'status', 'aria-live': 'polite' });
  const button = h('button.btn.secondary', { type: 'submit', text: t('import.button') });
  const form = h('form.filters', null,
    h('div.field.inline', null, h('label', { for: 'import-file', text: t('import.label') }), input),
    button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    out.textContent = '';
    const file = input.files && input.files[0];
    if (!file) {
      out.append(h('p.box.warn', { text: t('import.choose') }));
      return;
    }
    button.setAttribute('aria-disabled', 'true');
    out.append(h('p.muted', { text: t('import.busy', { name: file.name }) }));
    let res = null;
    let body = null;
    try {
      res = await fetch('/api/bundle/import', { method: 'POST', credentials: 'same-origin',
        cache: 'no-store', headers: { 'Content-Type': 'application/octet-stream',
          'X-CSRF-Token': S.csrf, Accept: 'application/json' }, body: file });
      body = await res.json().catch(() => null);
    } catch (err) {
      res = null;
    }
    button.removeAttribute('aria-disabled');
    out.textContent = '';
    const lines = body && Array.isArray(body.output) ? body.output : [];
    if (res && res.ok) {
      const m = lines.map((l) => /: \d+ records: (\d+) new/.exec(l)).find(Boolean);
      out.append(h('p.box.ok', { text: t('import.done', { name: file.name, n: fmtNum(m ? Number(m[1]) : 0) }) }));
      input.value = '';
      refreshData();
      statusTick();
    } else {
      const why = body && body.error ? body.error : res ? String(res.status) : t('err.network');
      out.append(h('p.box.bad', null, t('import.failed', { name: file.name }),
        h('span.small.block', { lang: 'en', text: why })));
      lines.splice(0, lines.length, ...lines.filter((l) => l !== why));
    }
    if (lines.length) out.append(h('pre.small.output', { lang: 'en', text: lines.join('\n') }));
  });
  el.append(form, h('p.small.muted', { id: 'import-hint', text: t(isHub() ? 'import.hint.hub' : 'import.hint') }), out);
}

function renderSync(el) {
  const s = syncSentence();
  if (s.text) el.append(h('p.box', { class: s.cls || 'neutral', text: s.text }));
  if (!isHub()) {
    // A sealed file of what the hub lacks, to save on a USB stick (GET /api/bundle).
    el.append(h('p', null, h('a.download', { href: '/api/bundle', download: 'kortnod-bundle.knb',
      text: t('sync.bundle') })));
    el.append(h('p.small', { text: t('sync.bundle.help') }));
  }
  const st = S.status;
  if (st && st.lan) {
    // In plain words; the daemon's own (English) description after it, for whoever helps.
    el.append(h('p.small', null, st.lan.on ? t('sync.lan.on', { n: fmtNum(st.lan.found || 0) })
      : t('sync.lan.off'), ' ', h('span.muted', { lang: 'en', text: '(' + st.lan.state + ')' })));
  }
  if (st && st.peers && st.peers.length) {
    el.append(h('h3', { text: t('sync.peers') }));
    el.append(peersTable(st.peers));
  } else if (st) {
    el.append(empty(t('sync.nopeers')));
  }
}
function syncKey() {
  const st = S.status;
  if (!st) return [S.statusError];
  // minutes are enough for "3 days ago"
  return [st.daemon_running, st.hub && [st.hub.connected, st.hub.waiting, st.hub.path,
    Math.floor((st.hub.last_contact_ms || 0) / 60000)], st.lan,
  (st.peers || []).map((p) => [p.node, p.path, p.connected, p.waiting, p.forgotten, p.addr,
    Math.floor((p.last_sync_ms || 0) / 60000), p.entries_in, p.entries_out]),
  Math.floor(Date.now() / 60000)];
}

function allowedSteps() {
  const types = S.steps ? S.steps.map((s) => s.type) : Object.keys(FALLBACK_STEPS);
  const skip = new Set(['node.bound', 'node.revoked', 'payload.purged', 'order.holder',
    'reserve.holder', 'node.address']);
  return types.filter((ty) => {
    if (skip.has(ty)) return false;
    if (isHub()) return !OFFICE_ONLY.has(ty);
    if (HUB_ONLY.has(ty)) return false;
    if (role() === 'mobile' && ty === 'office.notice') return false;
    return true;
  });
}

function stepsControls(el) {
  const types = allowedSteps();
  if (!types.length) {
    el.append(empty(t('steps.none')));
    return;
  }
  el.append(h('p.small.muted', { text: t('steps.help') }));
  const sel = h('select', { id: 'step-choose' });
  for (const ty of types) sel.append(h('option', { value: ty, text: has('step.' + ty) ? t('step.' + ty) : ty }));
  const b = h('button.btn.secondary', { type: 'button', text: t('step.choose.open') });
  b.addEventListener('click', () => openStep(sel.value, {}, b, {}));
  el.append(h('div.filters', null,
    h('div.field.inline', null, h('label', { for: 'step-choose', text: t('step.choose') }), sel), b));
}

function renderMineConflicts(el) {
  const me = S.session ? S.session.node.id : '';
  const rows = S.conflicts.filter((c) => c.author === me);
  if (!rows.length) {
    el.append(empty(t('mine.none')));
    return;
  }
  el.append(h('p', { text: t('mine.help') }));
  el.append(conflictTable(rows));
}

function conflictTable(rows) {
  return table([
    isHub() ? { label: t('col.author'), cell: (c) => h('span.mono', { text: peerName(c.author) }) } : null,
    { label: t('col.seq'), cell: (c) => c.seq, num: true },
    { label: t('col.type'), cell: (c) => has('step.' + c.type) ? t('step.' + c.type) + ' (' + c.type + ')' : c.type },
    { label: t('col.status'), cell: (c) => h('span.tag', { class: c.status === 'invalid' ? 'bad' : 'warn',
      text: tv('conflict.', c.status) }) },
    { label: t('col.reason'), cell: (c) => {
      const plain = explainError(c.reason);
      return plain ? [h('span', { text: plain }), h('span.small.muted.block', { lang: 'en', text: c.reason })]
        : h('span', { lang: 'en', text: c.reason });
    } }
  ].filter(Boolean), rows.slice(0, 200));
}

const OFFICE_SECTIONS = [
  { id: 'today', title: 'sec.today', wide: true, render: renderToday,
    key: () => [S.ver, new Date().toDateString()] },
  { id: 'reader', title: 'sec.reader', render: renderReader, key: readerKey },
  { id: 'meetings', title: 'sec.meetings', render: renderMeetings,
    key: () => [S.ver, Math.floor(Date.now() / 60000)] },
  { id: 'post', title: 'sec.post', render: renderPost, key: () => [S.ver] },
  { id: 'book', title: 'sec.book', render: renderBook, key: () => [S.ver] },
  { id: 'rebook', title: 'sec.rebook', render: renderRebook, key: () => [S.ver] },
  { id: 'todo', title: 'sec.todo', render: renderTodo, key: () => [S.ver] },
  { id: 'reserve', title: 'sec.reserve', render: renderReserve, key: () => [S.ver] },
  { id: 'earnings', title: 'sec.earnings', render: renderEarnings,
    controls: (el) => monthControl(el, 'earn-month'), key: () => [S.ver] },
  { id: 'cards', title: 'sec.cards', wide: true, render: renderCards, controls: cardsControls,
    key: () => [S.ver, S.cardsFilter] },
  { id: 'sync', title: 'sec.sync', render: renderSync, controls: importControls, key: syncKey },
  { id: 'steps', title: 'sec.steps', render: () => {}, controls: stepsControls, key: () => 0 },
  { id: 'mine', title: 'sec.mine_conflicts', wide: true, render: renderMineConflicts,
    key: () => [S.ver] }
];

/* ------------------------------------------------------------------ charts (SVG, with a table) */

let chartSeq = 0;
/* A bar chart: categories down the side (horizontal) or along the bottom (vertical), one or
 * more stacked series; a caption, a sentence saying what it shows, and the numbers as a table. */
function barChart(o) {
  const id = 'chart' + (++chartSeq);
  const fig = h('figure.chart');
  fig.append(h('figcaption', { id: id + '-t', text: o.title }));
  const cats = o.categories;
  if (!cats.length) {
    fig.append(empty(t('chart.empty')));
    return fig;
  }
  const totals = cats.map((c, i) => o.series.reduce((s, se) => s + (se.values[i] || 0), 0));
  const max = Math.max(1, ...totals);
  const W = 640;
  let root;
  if (o.horizontal) {
    const rowH = 24;
    const labelW = 170;
    const barW = W - labelW - 60;
    const H = cats.length * rowH + 8;
    root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': id + '-t ' + id + '-d',
      class: 'chart-svg', preserveAspectRatio: 'xMinYMin meet' });
    cats.forEach((c, i) => {
      const y = 4 + i * rowH;
      const label = c.length > 24 ? c.slice(0, 23) + '…' : c;
      root.append(svg('text', { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end',
        class: 'c-label', text: label }));
      let x = labelW;
      o.series.forEach((se) => {
        const v = se.values[i] || 0;
        if (!v) return;
        const w = Math.max(1, (v / max) * barW);
        root.append(svg('rect', { x, y: y + 3, width: w, height: rowH - 6, class: 'bar ' + se.cls }));
        x += w;
      });
      root.append(svg('text', { x: x + 6, y: y + rowH / 2 + 4, class: 'c-value', text: fmtNum(totals[i]) }));
    });
  } else {
    const H = 220;
    const top = 16;
    const bottom = 28;
    const left = 8;
    const slot = (W - left * 2) / cats.length;
    const bw = Math.min(48, slot * 0.7);
    root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': id + '-t ' + id + '-d',
      class: 'chart-svg', preserveAspectRatio: 'xMinYMin meet' });
    root.append(svg('line', { x1: left, x2: W - left, y1: H - bottom, y2: H - bottom, class: 'axis' }));
    cats.forEach((c, i) => {
      const cx = left + slot * i + slot / 2;
      let y = H - bottom;
      o.series.forEach((se) => {
        const v = se.values[i] || 0;
        if (!v) return;
        const hh = (v / max) * (H - top - bottom - 12);
        y -= hh;
        root.append(svg('rect', { x: cx - bw / 2, y, width: bw, height: hh, class: 'bar ' + se.cls }));
      });
      root.append(svg('text', { x: cx, y: y - 4, 'text-anchor': 'middle', class: 'c-value',
        text: totals[i] === null ? '' : fmtNum(totals[i]) }));
      root.append(svg('text', { x: cx, y: H - 10, 'text-anchor': 'middle', class: 'c-label', text: c }));
    });
  }
  fig.append(root);
  if (o.series.length > 1) {
    fig.append(h('ul.legend', null, o.series.map((se) =>
      h('li', null, h('span.swatch', { class: se.cls, 'aria-hidden': 'true' }), se.label))));
  }
  fig.append(h('p.chart-desc', { id: id + '-d', text: o.desc }));
  if (o.note) fig.append(h('p.small.muted', { text: o.note }));
  const cols = [{ label: o.catLabel, cell: (r) => r.cat, head: true }]
    .concat(o.series.map((se, k) => ({ label: se.label, cell: (r) => fmtNum(r.vals[k]), num: true })));
  if (o.series.length > 1) cols.push({ label: t('col.total'), cell: (r) => fmtNum(r.total), num: true });
  const rows = (o.allCategories || cats).map((c, i) => ({ cat: c,
    vals: o.series.map((se) => (o.allValues ? o.allValues[se.key][i] : se.values[i]) || 0),
    total: o.series.reduce((s, se) => s + ((o.allValues ? o.allValues[se.key][i] : se.values[i]) || 0), 0) }));
  fig.append(h('details.chart-table', null, h('summary', { text: t('chart.table') }),
    table(cols, rows, { caption: o.title, captionHidden: true })));
  return fig;
}

function waitingChart() {
  const rows = S.stock.map((r) => ({ office: officeName(r.office), in_transit: r.in_transit,
    notice: r.notice_waiting, locked: r.locked_storage,
    total: r.in_transit + r.notice_waiting + r.locked_storage }))
    .filter((r) => r.total > 0).sort((a, b) => b.total - a.total || a.office.localeCompare(b.office));
  const topN = rows.slice(0, 25);
  const total = rows.reduce((s, r) => s + r.total, 0);
  const mk = (list) => ({ in_transit: list.map((r) => r.in_transit), notice: list.map((r) => r.notice),
    locked: list.map((r) => r.locked) });
  const top = mk(topN);
  return barChart({
    title: t('chart.waiting'), horizontal: true, catLabel: t('col.office'),
    categories: topN.map((r) => r.office),
    series: [
      { key: 'in_transit', label: t('col.in_transit'), cls: 's1', values: top.in_transit },
      { key: 'notice', label: t('col.notice_waiting'), cls: 's2', values: top.notice },
      { key: 'locked', label: t('col.locked_storage'), cls: 's3', values: top.locked }
    ],
    allCategories: rows.map((r) => r.office), allValues: mk(rows),
    desc: rows.length ? t('chart.waiting.desc', { total: fmtNum(total), top: rows[0].office,
      n: fmtNum(rows[0].total) }) : t('chart.empty'),
    note: rows.length > topN.length ? t('chart.waiting.more', { n: topN.length }) : null
  });
}

function handoverChart() {
  const weeks = [];
  const now = new Date();
  for (let i = 11; i >= 0; i--) {
    const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - i * 7);
    const [y, w] = isoWeek(d);
    weeks.push({ key: y + '-' + w, w, n: 0 });
  }
  for (const r of S.handovers) {
    const [y, m, d] = String(r.day).split('-').map(Number);
    const [wy, w] = isoWeek(new Date(y, m - 1, d));
    const slot = weeks.find((x) => x.key === wy + '-' + w);
    if (slot) slot.n += r.handovers || 0;
  }
  const total = weeks.reduce((s, x) => s + x.n, 0);
  const best = weeks.reduce((a, b) => (b.n > a.n ? b : a), weeks[0]);
  return barChart({
    title: t('chart.week'), catLabel: t('chart.col.period'),
    categories: weeks.map((x) => t('chart.week.label', { w: x.w })),
    series: [{ key: 'n', label: t('col.handovers'), cls: 's1', values: weeks.map((x) => x.n) }],
    desc: t('chart.week.desc', { n: weeks.length, total: fmtNum(total), top: best.w, max: fmtNum(best.n) })
  });
}

/* ------------------------------------------------------------------ hub sections */

function renderKeys(el) {
  const rows = S.alerts.filter((a) => KEY_ALERTS.has(a.alert));
  if (!rows.length) {
    el.append(empty(t('keys.none')));
    return;
  }
  el.append(h('p.box.bad', { text: t('keys.help') }));
  el.append(alertTable(rows, true));
}

function renderOverview(el) {
  const open = S.stock.filter((r) => r.status !== 'closed').length;
  const waiting = S.stock.reduce((s, r) => s + r.in_transit + r.notice_waiting + r.locked_storage, 0);
  const keys = S.alerts.filter((a) => KEY_ALERTS.has(a.alert)).length;
  const peers = S.status && S.status.peers ? S.status.peers : [];
  const nodes = new Set(peers.map((p) => p.node));
  const late = [...nodes].filter((n) => !peers.some((p) => p.node === n && p.last_sync_ms &&
    Date.now() - p.last_sync_ms < 7 * 86400000)).length;
  const list = h('ul.tiles');
  list.append(tile(open, t('tile.offices'), 'offices', 'info'),
    tile(waiting, t('tile.waiting'), 'stock', 'info'),
    tile(S.alerts.length - keys, t('tile.alerts'), 'alerts', 'warn'),
    tile(S.conflicts.length, t('tile.conflicts'), 'conflicts', 'warn'),
    tile(keys, t('tile.keys'), 'keys', 'bad'),
    tile(late, t('tile.nodes_late'), 'nodes', 'warn'));
  el.append(list);
}

function officeRows() {
  const ids = allOffices();
  return ids.map((id) => {
    const listed = S.directory.find((r) => r.office === id);
    const d = S.offices.find((r) => r.office === id) || listed;
    const s = S.stock.find((r) => r.office === id) || {};
    const few = S.alerts.find((a) => a.alert === 'too-few-administrators' && a.office === id);
    const fewN = few ? /^(\d+)/.exec(few.detail || '') : null;
    let admins;
    if (d && typeof d.admins === 'number') admins = fmtNum(d.admins);
    else if (fewN) admins = fewN[1];
    else if ((d ? d.kind : s.kind) === 'organisation' && (s.status || 'open') !== 'closed') admins = t('offices.admins.ok');
    else admins = t('none');
    const holding = S.alerts.find((a) => a.alert === 'notice-holding-cards' && a.office === id);
    return { id, name: d ? d.name : id, town: d ? d.town : '', kind: d ? d.kind : s.kind,
      days: d ? d.days : '', status: (d && d.status) || s.status || '', listed: !!listed, admins,
      few: !!few, holding: holding ? alertDetail(holding) : '', booking: d ? d.booking : '' };
  }).sort((a, b) => (a.town || '~').localeCompare(b.town || '~', locale()) || a.name.localeCompare(b.name));
}

function renderOffices(el) {
  const rows = officeRows();
  if (!rows.length) {
    el.append(empty(t('offices.none')));
    return;
  }
  el.append(table([
    { label: t('col.office'), cell: (r) => r.name, head: true },
    { label: t('col.town'), cell: (r) => r.town },
    { label: t('col.kind'), cell: (r) => r.kind ? tv('kind.', r.kind) : '' },
    { label: t('col.admins'), cell: (r) => r.few ? h('span.tag.bad', { text: r.admins }) : r.admins },
    { label: t('col.days'), cell: (r) => fmtDays(r.days) },
    { label: t('col.status'), cell: (r) => [h('span.tag', { class: r.status === 'open' ? 'ok'
      : r.status === 'notice' ? 'warn' : 'bad', text: tv('office.', r.status) }),
    r.holding ? h('span.small.block', { text: r.holding }) : null] },
    { label: t('col.listed'), cell: (r) => r.listed ? t('offices.listed') : h('span.tag.warn', { text: t('offices.notlisted') }) }
  ], rows));
}

/* A count of waiting cards with the age of the oldest in days, marked when past limit (delivery
 * takes 2-4 weeks; a card stored 30 days is worth a call to the holder). */
function aged(n, days, limit) {
  if (!n || typeof days !== 'number') return fmtNum(n || 0);
  return [fmtNum(n), h('span.small.block', { class: days > limit ? 'tag warn' : 'muted',
    text: t('stock.oldest', { n: fmtNum(days) }) })];
}

function renderDirectory(el) {
  el.append(h('p.small.muted', { text: t('directory.desc') }));
  if (!S.directory.length) {
    el.append(empty(t('directory.none')));
    return;
  }
  el.append(table([
    { label: t('col.name'), cell: (r) => r.name, head: true },
    { label: t('col.town'), cell: (r) => r.town },
    { label: t('col.place'), cell: (r) => r.place },
    { label: t('col.booking'), cell: (r) => r.booking },
    { label: t('col.days'), cell: (r) => fmtDays(r.days) },
    { label: t('col.kind'), cell: (r) => tv('kind.', r.kind) }
  ], S.directory));
  el.append(h('p', null, h('a.download', { href: '/api/report/directory?format=csv',
    download: 'kortnod-directory.csv', text: t('directory.csv') })));
}

function renderStock(el) {
  if (!S.stock.length) {
    el.append(empty(t('stock.none')));
    return;
  }
  el.append(waitingChart());
  const late = (office, kind) => S.alerts.filter((a) => a.alert === kind && a.office === office).length;
  const rows = S.stock.slice().sort((a, b) => officeName(a.office).localeCompare(officeName(b.office), locale()));
  const sum = (k) => rows.reduce((s, r) => s + (r[k] || 0), 0);
  el.append(table([
    { label: t('col.office'), cell: (r) => officeName(r.office), head: true },
    { label: t('col.ordered'), cell: (r) => fmtNum(r.ordered), num: true },
    { label: t('col.in_transit'), cell: (r) => aged(r.in_transit, r.oldest_in_transit_days, 28), num: true },
    { label: t('col.notice_waiting'), cell: (r) => aged(r.notice_waiting, r.oldest_notice_days, 14), num: true },
    { label: t('col.locked_storage'), cell: (r) => aged(r.locked_storage, r.oldest_locked_days, 30), num: true },
    { label: t('col.handed_over'), cell: (r) => fmtNum(r.handed_over), num: true },
    { label: t('col.late_post'), cell: (r) => { const n = late(r.office, 'not-received');
      return n ? h('span.tag.warn', { text: fmtNum(n) }) : '0'; }, num: true },
    { label: t('col.late_stored'), cell: (r) => { const n = late(r.office, 'stored-long');
      return n ? h('span.tag.warn', { text: fmtNum(n) }) : '0'; }, num: true }
  ], rows, { foot: h('tr', null, h('th', { scope: 'row', text: t('invoice.total') }),
    ['ordered', 'in_transit', 'notice_waiting', 'locked_storage', 'handed_over'].map((k) =>
      h('td.num', { 'data-label': t('col.' + k), text: fmtNum(sum(k)) })),
    h('td.num', { 'data-label': t('col.late_post'), text: fmtNum(S.alerts.filter((a) => a.alert === 'not-received').length) }),
    h('td.num', { 'data-label': t('col.late_stored'), text: fmtNum(S.alerts.filter((a) => a.alert === 'stored-long').length) })) }));
}

function renderCharts(el) {
  el.append(handoverChart());
}

function alertsControls(el) {
  const sel = h('select', { id: 'alerts-office' });
  el.append(h('div.filters', null, h('div.field.inline', null,
    h('label', { for: 'alerts-office', text: t('alerts.filter') }), sel)));
  sel.addEventListener('change', () => {
    S.alertsOffice = sel.value;
    renderAll();
  });
  fillOfficeSelect(sel);
}
function fillOfficeSelect(sel) {
  const cur = S.alertsOffice;
  sel.textContent = '';
  sel.append(h('option', { value: '', text: t('alerts.all') }));
  for (const id of allOffices()) sel.append(h('option', { value: id, text: officeName(id) }));
  sel.value = allOffices().includes(cur) ? cur : '';
}
function renderAlerts(el) {
  const sel = document.getElementById('alerts-office');
  if (sel && sel.options.length !== allOffices().length + 1) fillOfficeSelect(sel);
  const rows = S.alerts.filter((a) => !KEY_ALERTS.has(a.alert) &&
    (!S.alertsOffice || a.office === S.alertsOffice));
  if (rows.length) el.append(alertTable(rows, true));
  else el.append(empty(t('alerts.none')));
}

function renderConflicts(el) {
  if (!S.conflicts.length) {
    el.append(empty(t('conflicts.none')));
    return;
  }
  el.append(h('p.small.muted', { text: t('conflicts.help') }));
  el.append(conflictTable(S.conflicts));
}

function renderInvoice(el) {
  const inv = S.invoice;
  if (!inv) {
    el.append(empty(S.loadErrors.invoice || t('loading')));
    return;
  }
  el.append(h('p', null, csvLink('')));
  const offices = (inv.offices || []).slice().sort((a, b) =>
    (b.handovers - a.handovers) || officeName(a.office).localeCompare(officeName(b.office), locale()));
  const active = offices.filter((r) => r.handovers || r.extra_meetings || r.issued_sek !== null);
  el.append(h('h3', { text: t('invoice.offices') }));
  if (!active.length) {
    el.append(empty(t('invoice.none')));
  } else {
    const sum = (k) => active.reduce((s, r) => s + (r[k] || 0), 0);
    el.append(table([
      { label: t('col.office'), cell: (r) => officeName(r.office), head: true },
      { label: t('col.kind'), cell: (r) => tv('kind.', r.kind) },
      { label: t('col.handovers'), cell: (r) => fmtNum(r.handovers), num: true },
      { label: t('col.extra'), cell: (r) => fmtNum(r.extra_meetings), num: true },
      { label: t('col.amount'), cell: (r) => fmtKr(r.amount_sek), num: true },
      { label: t('col.vat'), cell: (r) => fmtKr(r.vat_sek), num: true },
      { label: t('col.issued'), cell: (r) => r.issued_sek === null || r.issued_sek === undefined ? t('none')
        : r.issued_sek !== r.amount_sek + r.vat_sek && r.issued_sek !== r.amount_sek
          ? h('span.tag.warn', { title: t('invoice.mismatch'), text: fmtKr(r.issued_sek) + ' ⚠' },
            h('span.vh', { text: ' ' + t('invoice.mismatch') }))
          : fmtKr(r.issued_sek), num: true }
    ], active, { foot: h('tr', null, h('th', { scope: 'row', text: t('invoice.total') }), h('td'),
      h('td.num', { 'data-label': t('col.handovers'), text: fmtNum(sum('handovers')) }),
      h('td.num', { 'data-label': t('col.extra'), text: fmtNum(sum('extra_meetings')) }),
      h('td.num', { 'data-label': t('col.amount'), text: fmtKr(sum('amount_sek')) }),
      h('td.num', { 'data-label': t('col.vat'), text: fmtKr(sum('vat_sek')) }), h('td')) }));
  }
  el.append(h('h3', { text: t('invoice.providers') }));
  const prov = inv.care_providers || [];
  if (!prov.length) {
    el.append(empty(t('invoice.none')));
  } else {
    const sum = (k) => prov.reduce((s, r) => s + (r[k] || 0), 0);
    el.append(table([
      { label: t('col.care_provider'), cell: (r) => r.care_provider, head: true },
      { label: t('col.cards'), cell: (r) => fmtNum(r.cards), num: true },
      { label: t('col.amount'), cell: (r) => fmtKr(r.amount_sek), num: true },
      { label: t('col.vat'), cell: (r) => fmtKr(r.vat_sek), num: true },
      { label: t('col.total'), cell: (r) => fmtKr(r.total_sek), num: true }
    ], prov, { foot: h('tr', null, h('th', { scope: 'row', text: t('invoice.total') }),
      h('td.num', { 'data-label': t('col.cards'), text: fmtNum(sum('cards')) }),
      h('td.num', { 'data-label': t('col.amount'), text: fmtKr(sum('amount_sek')) }),
      h('td.num', { 'data-label': t('col.vat'), text: fmtKr(sum('vat_sek')) }),
      h('td.num', { 'data-label': t('col.total'), text: fmtKr(sum('total_sek')) })) }));
  }
}

function renderNodes(el) {
  const st = S.status;
  if (!st) {
    el.append(empty(S.statusError || t('loading')));
    return;
  }
  if (!st.daemon_running) el.append(h('p.box.warn', { text: t('sync.nodaemon') }));
  const peers = (st.peers || []).slice().sort((a, b) => (a.last_sync_ms || 0) - (b.last_sync_ms || 0));
  if (peers.length) el.append(peersTable(peers));
  else el.append(empty(t('nodes.none')));
}

function searchControls(el) {
  const input = h('input', { id: 'search-text', type: 'search', autocomplete: 'off', value: S.search,
    'aria-describedby': 'search-hint' });
  const form = h('form.filters', { role: 'search' },
    h('div.field.inline', null, h('label', { for: 'search-text', text: t('search.label') }), input),
    h('button.btn.secondary', { type: 'submit', text: t('search.button') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    S.search = input.value.trim();
    await loadSearch();
    bumpVersion();
    renderAll();
  });
  el.append(form, h('p.small.muted', { id: 'search-hint', text: t('search.hint') }));
}
function renderSearch(el) {
  if (S.searchError) {
    el.append(h('p.box.warn', { text: S.searchError }));
    return;
  }
  const rows = S.searchRows;
  if (!rows) return;
  if (!rows.length) {
    el.append(empty(t('search.none')));
    return;
  }
  el.append(h('p.small.muted', { text: rows.length > SEARCH_MAX ? t('search.more', { n: SEARCH_MAX })
    : t('search.count', { n: rows.length }) }));
  el.append(orderTable(rows.slice(0, SEARCH_MAX), { caption: t('sec.search') }));
}

const HUB_SECTIONS = [
  { id: 'overview', title: 'sec.overview', wide: true, render: renderOverview,
    key: () => [S.ver, syncKey()] },
  { id: 'keys', title: 'sec.keys', wide: true, render: renderKeys, key: () => [S.ver] },
  { id: 'offices', title: 'sec.offices', wide: true, render: renderOffices, key: () => [S.ver] },
  { id: 'directory', title: 'sec.directory', wide: true, render: renderDirectory, key: () => [S.ver] },
  { id: 'stock', title: 'sec.stock', wide: true, render: renderStock, key: () => [S.ver] },
  { id: 'charts', title: 'sec.charts', render: renderCharts,
    key: () => [S.ver, new Date().toDateString()] },
  { id: 'conflicts', title: 'sec.conflicts', render: renderConflicts, key: () => [S.ver, syncKey()] },
  { id: 'alerts', title: 'sec.alerts', wide: true, render: renderAlerts, controls: alertsControls,
    key: () => [S.ver, S.alertsOffice] },
  { id: 'invoice', title: 'sec.invoice', wide: true, render: renderInvoice,
    controls: (el) => monthControl(el, 'inv-month'), key: () => [S.ver] },
  { id: 'nodes', title: 'sec.nodes', wide: true, render: renderNodes, controls: importControls,
    key: syncKey },
  { id: 'search', title: 'sec.search', wide: true, render: renderSearch, controls: searchControls,
    key: () => [S.search, S.ver] },
  { id: 'steps', title: 'sec.steps', render: () => {}, controls: stepsControls, key: () => 0 }
];

/* ------------------------------------------------------------------ step forms */

function enumValues(type, name, apiValues) {
  let v = Array.isArray(apiValues) && apiValues.length ? apiValues
    : ENUMS[type + '/' + name] || (name !== 'reason' ? ENUMS[name] : null);
  if (!v) return null;
  if (name === 'place_kind') v = v.filter((x) => x !== 'administrator-home');
  return v;
}
function enumLabel(type, name, value) {
  const prefix = ENUM_PREFIX[type + '/' + name] || ENUM_PREFIX[name];
  return prefix ? tv(prefix, value) : value;
}

function stepFields(type) {
  let list = null;
  const api = S.steps ? S.steps.find((s) => s.type === type) : null;
  if (api && Array.isArray(api.fields)) {
    list = api.fields.map((f) => ({ name: f.name, apiKind: f.kind, required: !!f.required, values: f.values }));
  } else if (FALLBACK_STEPS[type]) {
    list = FALLBACK_STEPS[type].split(' ').map((s) => {
      const m = /^([a-z_]+)(\*?)(?::([a-z]+))?$/.exec(s);
      return { name: m[1], required: m[2] === '*', apiKind: m[3] || (m[1].endsWith('_ms') ? 'uint' : 'text') };
    });
  } else {
    list = [];
  }
  return list.filter((f) => f.apiKind !== 'bin' && !NEVER_TYPED.has(f.name) &&
    !(type === 'handover.completed' && READER_ONLY.has(f.name))).map((f) => {
    let kind;
    if (f.apiKind === 'bool') kind = 'bool';
    else if (enumValues(type, f.name, f.values)) kind = 'enum';
    else if (f.apiKind === 'uint') kind = f.name === 'at_ms' ? 'datetime' : f.name.endsWith('_ms') ? 'date' : 'uint';
    else kind = FIELD_KIND[f.name] && !['enum', 'uint', 'date', 'datetime'].includes(FIELD_KIND[f.name])
      ? FIELD_KIND[f.name] : 'text';
    return Object.assign({}, f, { kind });
  });
}

function labelOf(name) {
  return has('field.' + name) ? t('field.' + name) : name;
}

let fieldSeq = 0;
/* Build the inputs of one step; returns {nodes, collect}. collect() -> {ok, body} or
 * {ok:false, msg, el}. */
function buildFields(type, prefill, opts) {
  const fields = stepFields(type);
  const nodes = [];
  const getters = [];
  const add = (name, fn) => {
    fn.fieldName = name;
    getters.push(fn);
  };
  const uid = () => 'f' + (++fieldSeq);
  const order = prefill.order ? orderById(prefill.order) : null;

  const textInput = (f, extra) => {
    const id = uid();
    const pre = prefill[f.name];
    const locked = pre !== undefined && pre !== '' && ['order', 'appointment', 'reserve', 'entry'].includes(f.name);
    const hintId = extra && extra.hint ? id + '-h' : null;
    const input = h('input', { id, type: 'text', name: f.name, value: pre !== undefined ? pre : '',
      readonly: locked, class: locked ? 'readonly' : null, autocomplete: 'off', spellcheck: 'false',
      maxlength: f.kind === 'id' ? 64 : f.kind === 'node' ? 64 : null, required: f.required,
      'aria-describedby': hintId, list: extra && extra.list ? extra.list : null,
      inputmode: extra && extra.inputmode ? extra.inputmode : null });
    const wrap = h('div.field', null, h('label', { for: id }, labelOf(f.name),
      f.required ? null : h('span.opt', { text: ' ' + t('field.optional') })), input,
    hintId ? h('p.hint', { id: hintId, text: extra.hint }) : null);
    nodes.push(wrap);
    add(f.name, () => {
      const v = input.value.trim();
      if (!v) return f.required ? { err: t('val.required', { label: labelOf(f.name) }), el: input } : {};
      if ((f.kind === 'id') && !/^[A-Za-z0-9._:-]{1,64}$/.test(v)) {
        return { err: t('val.id', { label: labelOf(f.name) }), el: input };
      }
      if (f.kind === 'node' && !/^[0-9a-f]{64}$/.test(v)) return { err: t('val.node', { label: labelOf(f.name) }), el: input };
      if (f.kind === 'month' && !/^\d{4}-(0[1-9]|1[0-2])$/.test(v)) return { err: t('val.month', { label: labelOf(f.name) }), el: input };
      if (new TextEncoder().encode(v).length > 512) return { err: t('val.text', { label: labelOf(f.name) }), el: input };
      return { value: v };
    });
    return input;
  };

  const selectInput = (f, options, def) => {
    const id = uid();
    const sel = h('select', { id, name: f.name, required: f.required });
    if (!f.required || def === undefined) sel.append(h('option', { value: '', text: f.required ? t('field.choose') : t('none') }));
    for (const [v, label] of options) sel.append(h('option', { value: v, text: label }));
    if (def !== undefined) sel.value = def;
    nodes.push(h('div.field', null, h('label', { for: id }, labelOf(f.name),
      f.required ? null : h('span.opt', { text: ' ' + t('field.optional') })), sel));
    add(f.name, () => {
      if (!sel.value) return f.required ? { err: t('val.required', { label: labelOf(f.name) }), el: sel } : {};
      return { value: sel.value };
    });
    return sel;
  };

  const checks = fields.filter((f) => f.kind === 'bool' && f.required);
  let checkBox = null;
  if (checks.length > 1) {
    checkBox = h('fieldset.checks', null, h('legend', { text: t('handover.checks') }));
  }

  for (const f of fields) {
    const pre = prefill[f.name];
    if (type === 'appointment.booked' && f.name === 'appointment') {
      add(f.name, () => ({ value: makeId('M', prefill.order || '') }));
      continue;
    }
    if (f.name === 'office' && !isHub()) {
      const offs = myOffices() || allOffices();
      if (offs.length === 1) {
        add(f.name, () => ({ value: offs[0] }));
        continue;
      }
      selectInput(f, offs.map((o) => [o, officeName(o)]), pre);
      continue;
    }
    if (f.name === 'office' && isHub()) {
      selectInput(f, allOffices().map((o) => [o, officeName(o)]), pre);
      continue;
    }
    if (f.name === 'appointment' && (type === 'handover.completed' || type === 'handover.failed')) {
      if (!S.appts) {
        if (pre) add(f.name, () => ({ value: pre }));
        continue;
      }
      const list = bookedAppts(prefill.order || '');
      if (!list.length) continue;
      const id = uid();
      const sel = h('select', { id, name: 'appointment' });
      sel.append(h('option', { value: '', text: t('appt.none') }));
      for (const a of list) {
        sel.append(h('option', { value: a.appointment, text: fmtDateTime(a.at_ms) + ' – ' +
          tv('place_kind.', a.place_kind) + (a.place ? ': ' + a.place : '') }));
      }
      sel.value = pre || list[0].appointment;
      nodes.push(h('div.field', null, h('label', { for: id }, labelOf('appointment'),
        h('span.opt', { text: ' ' + t('field.optional') })), sel));
      add(f.name, () => (sel.value ? { value: sel.value } : {}));
      continue;
    }
    if (f.name === 'appointment' && !pre && S.appts) {
      const list = S.appts.filter((a) => (a.state || 'booked') === 'booked' && mine(a.office));
      selectInput(f, list.map((a) => [a.appointment, fmtDateTime(a.at_ms) + ' – ' + a.order]));
      continue;
    }
    if (f.kind === 'bool') {
      const id = uid();
      const cb = h('input', { id, type: 'checkbox', name: f.name, checked: pre === true,
        required: f.required });
      const row = h('div.check', null, cb, h('label', { for: id, text: labelOf(f.name) }));
      if (checkBox && f.required) checkBox.append(row);
      else nodes.push(row);
      add(f.name, () => {
        if (f.required && !cb.checked) {
          return { err: checks.length > 1 ? t('handover.checks.all') : t('val.tick', { label: labelOf(f.name) }), el: cb };
        }
        return cb.checked ? { value: true } : {};
      });
      if (checkBox && f === checks[checks.length - 1]) {
        nodes.push(checkBox);
        checkBox.append(h('p.hint', { text: t('handover.checks.all') }));
      }
      continue;
    }
    if (f.kind === 'enum') {
      const values = enumValues(type, f.name, f.values);
      if (type === 'handover.failed' && f.name === 'reason') {
        const fs = h('fieldset.radios', null, h('legend', { text: labelOf('reason') }));
        const radios = values.map((v) => {
          const id = uid();
          const r = h('input', { id, type: 'radio', name: 'reason', value: v, required: true });
          fs.append(h('div.check', null, r, h('label', { for: id, text: enumLabel(type, f.name, v) })));
          return r;
        });
        nodes.push(fs);
        add(f.name, () => {
          const c = radios.find((r) => r.checked);
          return c ? { value: c.value } : { err: t('val.required', { label: labelOf('reason') }), el: radios[0] };
        });
        continue;
      }
      const sel = selectInput(f, values.map((v) => [v, enumLabel(type, f.name, v)]), pre);
      if (f.name === 'place_kind') {
        const hid = uid();
        sel.setAttribute('aria-describedby', hid);
        sel.parentNode.append(h('p.hint', { id: hid, text: t('place.note') }));
      }
      continue;
    }
    if (f.kind === 'datetime') {
      const idD = uid();
      const idT = uid();
      let def = pre ? new Date(pre) : null;
      if (!def && type === 'appointment.moved' && S.appts) {
        const a = S.appts.find((x) => x.appointment === prefill.appointment);
        if (a) def = new Date(a.at_ms);
      }
      if (!def) {
        def = new Date();
        def.setDate(def.getDate() + 1);
        while (def.getDay() === 0 || def.getDay() === 6) def.setDate(def.getDate() + 1);
        def.setHours(10, 0, 0, 0);
      }
      const d = h('input', { id: idD, type: 'date', value: isoDate(def), required: true });
      const tm = h('input', { id: idT, type: 'time', value: pad2(def.getHours()) + ':' + pad2(def.getMinutes()),
        step: 300, required: true });
      nodes.push(h('fieldset.datetime', null, h('legend', { text: labelOf('at_ms') }),
        h('div.field.inline', null, h('label', { for: idD, text: t('field.at_ms.date') }), d),
        h('div.field.inline', null, h('label', { for: idT, text: t('field.at_ms.time') }), tm)));
      add(f.name, () => {
        const dm = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d.value);
        const tmm = /^(\d{2}):(\d{2})/.exec(tm.value);
        if (!dm || !tmm) return { err: t('val.time', { label: labelOf('at_ms') }), el: dm ? tm : d };
        const ms = new Date(+dm[1], +dm[2] - 1, +dm[3], +tmm[1], +tmm[2]).getTime();
        return Number.isFinite(ms) ? { value: ms } : { err: t('val.time', { label: labelOf('at_ms') }), el: d };
      });
      continue;
    }
    if (f.kind === 'date') {
      const id = uid();
      const today = new Date();
      const reserve = type === 'reserve.issued' && f.name === 'valid_until_ms';
      const maxD = reserve ? new Date(addMonths(today, 3).getTime() - 86400000) : null;
      const hid = reserve ? id + '-h' : null;
      const d = h('input', { id, type: 'date', required: f.required, min: isoDate(today),
        max: maxD ? isoDate(maxD) : null, 'aria-describedby': hid,
        value: pre ? isoDate(new Date(pre)) : '' });
      nodes.push(h('div.field', null, h('label', { for: id }, labelOf(f.name),
        f.required ? null : h('span.opt', { text: ' ' + t('field.optional') })), d,
      hid ? h('p.hint', { id: hid, text: t('val.reserve3m', { date: fmtDateShort(maxD.getTime()) }) }) : null));
      add(f.name, () => {
        const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d.value);
        if (!m) return f.required ? { err: t('val.date', { label: labelOf(f.name) }), el: d } : {};
        const ms = new Date(+m[1], +m[2] - 1, +m[3], 23, 59, 59).getTime();
        if (ms <= Date.now()) return { err: t('val.future', { label: labelOf(f.name) }), el: d };
        if (maxD && ms > new Date(maxD.getFullYear(), maxD.getMonth(), maxD.getDate(), 23, 59, 59).getTime()) {
          return { err: t('val.reserve3m', { date: fmtDateShort(maxD.getTime()) }), el: d };
        }
        return { value: ms };
      });
      continue;
    }
    if (f.kind === 'uint') {
      const id = uid();
      const input = h('input', { id, type: 'number', min: 0, step: 1, inputmode: 'numeric',
        value: pre !== undefined ? pre : '', required: f.required });
      nodes.push(h('div.field', null, h('label', { for: id }, labelOf(f.name),
        f.required ? null : h('span.opt', { text: ' ' + t('field.optional') })), input));
      add(f.name, () => {
        const v = input.value.trim();
        if (!v) return f.required ? { err: t('val.required', { label: labelOf(f.name) }), el: input } : {};
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) return { err: t('val.uint', { label: labelOf(f.name) }), el: input };
        return { value: Number(v) };
      });
      continue;
    }
    // text-like
    const extra = {};
    if (f.name === 'serial' && type === 'handover.completed') {
      extra.hint = opts.fromReader && pre ? t('handover.serial.reader') : t('handover.serial.hint');
    }
    if (f.name === 'place') extra.hint = t('field.place.hint');
    if (f.name === 'days') extra.hint = 'mon,tue,wed,thu,fri';
    if (f.name === 'month') extra.inputmode = 'numeric';
    if (f.name === 'order' && !pre) {
      const dl = 'dl' + (++fieldSeq);
      const ids = (isHub() ? S.searchRows || [] : officeOrders()).slice(0, 300).map((o) => o.order_id);
      nodes.push(h('datalist', { id: dl }, ids.map((x) => h('option', { value: x }))));
      extra.list = dl;
    }
    const p = Object.assign({}, f);
    if (f.name === 'serial' && type === 'handover.completed' && !(opts.fromReader && pre)) {
      // the administrator types what the card says; the rules compare it with the shipped serial
      prefill = Object.assign({}, prefill, { serial: '' });
    }
    textInput(p, extra);
  }

  const collect = () => {
    const body = {};
    for (const g of getters) {
      const r = g();
      if (r.err) return { ok: false, msg: r.err, el: r.el };
      if (r.value !== undefined) body[g.fieldName] = r.value;
    }
    return { ok: true, body };
  };
  return { nodes, collect, fields };
}

/* ------------------------------------------------------------------ the dialog */

function dlg() {
  return document.getElementById('dlg');
}

function openDialog(title, desc, nodes, submit, opener, okLabel) {
  const d = dlg();
  document.getElementById('dlg-title').textContent = title;
  const descEl = document.getElementById('dlg-desc');
  descEl.textContent = desc || '';
  descEl.hidden = !desc;
  const fieldsEl = document.getElementById('dlg-fields');
  fieldsEl.textContent = '';
  fieldsEl.append(...nodes);
  const err = document.getElementById('dlg-error');
  err.textContent = '';
  const ok = document.getElementById('dlg-ok');
  ok.hidden = !submit;
  ok.removeAttribute('aria-disabled');
  ok.textContent = okLabel || t('save');
  document.getElementById('dlg-cancel').textContent = submit ? t('cancel') : t('close');
  S.dialogSubmit = submit;
  S.dialogOpener = opener || null;
  if (!d.open) {
    if (typeof d.showModal === 'function') d.showModal();
    else d.setAttribute('open', '');
  }
  const first = fieldsEl.querySelector('input:not([readonly]):not([type=hidden]), select, textarea, button');
  (first || (submit ? ok : document.getElementById('dlg-cancel'))).focus();
}

function closeDialog() {
  const d = dlg();
  if (d.open) {
    if (typeof d.close === 'function') d.close();
    else d.removeAttribute('open');
  }
}

function onDialogClosed() {
  S.dialogSubmit = null;
  const back = S.dialogOpener;
  S.dialogOpener = null;
  if (back && document.body.contains(back)) {
    back.focus();
  } else if (back && back.getAttribute && back.getAttribute('data-fkey')) {
    const again = findFocusTarget(document, back.getAttribute('data-fkey'));
    if (again) again.focus();
    else document.getElementById('main').focus();
  } else {
    document.getElementById('main').focus();
  }
}

function stepTitle(type) {
  if (has('step.' + type)) return t('step.' + type);
  const api = S.steps ? S.steps.find((s) => s.type === type) : null;
  return api ? api.who : type;
}

function openStep(type, prefill, opener, opts) {
  const o = opts || {};
  const built = buildFields(type, Object.assign({}, prefill || {}), o);
  let desc = has('desc.' + type) ? t('desc.' + type) : '';
  if (prefill && prefill.order) desc = t('step.for', { order: prefill.order }) + (desc ? '. ' + desc : '');
  if (type === 'appointment.booked') desc += (desc ? ' ' : '') + t('place.note');
  const submit = async () => {
    const err = document.getElementById('dlg-error');
    err.textContent = '';
    document.querySelectorAll('#dlg-fields [aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
    const r = built.collect();
    if (!r.ok) {
      err.textContent = r.msg;
      if (r.el) {
        r.el.setAttribute('aria-invalid', 'true');
        r.el.focus();
      }
      return;
    }
    const ok = document.getElementById('dlg-ok');
    ok.setAttribute('aria-disabled', 'true');
    S.busy = true;
    // Opened from the reader's "hand over" button: the daemon fills in what the card says
    // (chip, ATR, the holder check) and refuses if that card is no longer in the reader.
    if (type === 'handover.completed' && o.fromReader) r.body.from_reader = true;
    const res = await postStep(type, r.body);
    S.busy = false;
    ok.removeAttribute('aria-disabled');
    if (res.ok) {
      const vars = Object.assign({ step: stepTitle(type) }, prefill || {}, r.body);
      const msg = has('ok.' + type) ? t('ok.' + type, vars) : t('ok.generic', vars);
      closeDialog();
      announce(msg, 'ok');
      await refreshData();
      return;
    }
    let text;
    if (res.status === 401) text = t('err.login');
    else if (res.status === 403 && /CSRF/i.test(res.error || '')) text = t('err.csrf');
    else if (res.status === 0) text = t('err.network');
    else {
      const plain = explainError(res.error);
      text = plain ? t('err.step', { why: plain }) : t('err.step.raw', { why: res.error });
    }
    err.textContent = '';
    err.append(h('span', { text }));
    if (res.error && res.status !== 0 && S.lang === 'sv') {
      err.append(h('span.small.block', { lang: 'en', text: res.error }));
    }
  };
  openDialog(stepTitle(type), desc, built.nodes, submit, opener);
}

function openChooser(order, steps, opener) {
  const nodes = [h('p', { text: t('step.other.desc') })];
  const list = h('ul.choices');
  for (const type of steps) {
    const b = h('button.btn.secondary', { type: 'button', text: stepTitle(type) });
    b.addEventListener('click', () => {
      S.dialogOpener = opener;
      openStep(type, prefillFor(type, order), opener, {});
    });
    list.append(h('li', null, b));
  }
  nodes.push(list);
  openDialog(t('step.other.title', { order: order.order_id }), '', nodes, null, opener);
}

/* ------------------------------------------------------------------ running */

async function refreshData() {
  await loadReports();
  renderAll();
}

let statusBusy = false;
async function statusTick() {
  if (statusBusy) return;
  statusBusy = true;
  try {
    await loadStatus();
    renderAll();
  } finally {
    statusBusy = false;
  }
}

let reportsBusy = false;
async function reportsTick() {
  if (reportsBusy || S.busy) return;
  reportsBusy = true;
  try {
    await refreshData();
  } finally {
    reportsBusy = false;
  }
}

function setLang(lang) {
  S.lang = LANGS.includes(lang) ? lang : 'sv';
  try {
    localStorage.setItem('kortnod.lang', S.lang);
  } catch (e) {
    // private mode: the choice lasts this page only
  }
}

function switchLang() {
  setLang(S.lang === 'sv' ? 'en' : 'sv');
  if (dlg().open) closeDialog();
  applyStatic();
  if (S.session) {
    buildPage();
    renderAll(true);
  }
  announce(t('lang.switched'));
}

function showFatal(msg) {
  const main = document.getElementById('main');
  main.textContent = '';
  main.append(h('p.banner.bad', { id: 'banner', role: 'alert', text: msg }));
}

const LANGS = ['sv', 'en'];

async function start() {
  try {
    await loadSession();
  } catch (e) {
    showFatal(e.status === 401 ? t('err.login') : e.status === 0 ? t('err.network')
      : t('err.load', { what: '/api/session', why: e.message }));
    if (e.status !== 401) setTimeout(start, 5000);
    return;
  }
  await loadSteps();
  applyStatic();
  buildPage();
  await Promise.all([loadReports(), loadStatus()]);
  renderAll(true);
  setInterval(statusTick, 2000);
  setInterval(reportsTick, 30000);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) reportsTick();
  });
}

function init() {
  let saved = null;
  try {
    saved = localStorage.getItem('kortnod.lang');
  } catch (e) {
    saved = null;
  }
  S.lang = saved === 'en' ? 'en' : 'sv';
  applyStatic();
  document.getElementById('lang-toggle').addEventListener('click', switchLang);
  document.getElementById('refresh').addEventListener('click', async () => {
    announce(t('refreshing'));
    await Promise.all([loadStatus(), S.session ? loadReports() : start()]);
    renderAll();
    announce(t('updated', { time: fmtTime(Date.now()) }), 'ok');
  });
  document.getElementById('dlg-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (S.dialogSubmit && !S.busy) S.dialogSubmit();
  });
  document.getElementById('dlg-cancel').addEventListener('click', closeDialog);
  dlg().addEventListener('close', onDialogClosed);
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(markScrollables, 200);
  });
  start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
