#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The office's page in headless chromium with the virtual card in the reader, on the real
# pcscd: card A1, shipped to kiruna, is walked through the forms from the postal notice to a
# booked meeting; then a card never shipped is put in the reader and the page refuses it in red;
# then the order's own card, which the page shows in green and hands over from the reader
# panel's button (tests/ui/reader.mjs). The log then holds the hand-over as the reader read it:
# serial, chip, ATR, read_by_reader, the holder's HSA-id checked and not stored.
#
# Skips (77) with the reason when pcscd or the virtual reader cannot run here, or when chromium,
# node or the npm packages are missing.
set -euo pipefail
# shellcheck source=tests/reader/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/ui/lib.sh
source "$(dirname "$0")/../ui/lib.sh"
browser_setup
reader_setup
kiruna_card_shipped

make_cert "Other Person" SE2321000016-OTHER
WRONG_CERT=$CERT
make_cert "Anna Test" SE2321000016-TEST1
RIGHT_CERT=$CERT
vcard_start --cert "$WRONG_CERT" --cplc "$(cplc_hex 47905040BBBBBBBB)"

kiruna_ui

node "$UI_DIR/reader.mjs" --chromium "$CHROMIUM" --artifacts "$ART" --office "$LINK" \
    --order A1 --vcard "$T/vcard.in" --reader "$READER0" \
    --wrong-cert "$WRONG_CERT" --wrong-cplc "$(cplc_hex 47905040BBBBBBBB)" \
    --right-cert "$RIGHT_CERT" --right-cplc "$(cplc_hex "$CHIP")" ||
    fail "the browser test with the card reader failed (screenshots in $ART)"
grep -Eq "card inserted in $READER0: chip 47905040BBBBBBBB.*no card with chip" "$T/kiruna.log" ||
    fail "the daemon did not log the wrong card"

kn "$T/kiruna" log show --author "${NID[kiruna]}" --json
expect_rc 0 "log show"
py 'import json,sys
h = [x for x in json.loads(sys.argv[1]) if x["type"] == "handover.completed"]
assert len(h) == 1, h
e = h[0]["payload"]
assert e["order"] == "A1" and e["serial"] == "SN-A1" and e["chip"] == "'"$CHIP"'", e
assert e["read_by_reader"] is True and e["hsa_id_checked"] is True and e["atr"].startswith("3B"), e
assert e["id_checked"] and e["right_person"] and e["pin_envelope"], e
assert "SE2321000016" not in sys.argv[1], "the HSA-id is in the log"'
ok "A1 walked from the notice to the hand-over in the browser with the card in the reader: the wrong card refused in red, the right one recorded as the reader read it (serial, chip, ATR, holder checked; no HSA-id in the log); screenshots in $ART"
