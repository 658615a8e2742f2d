#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A hand-over from the web page checked by the card in the reader, on the real pcscd with the
# virtual card: the page sends from_reader, and the daemon fills in what the card it read says
# (serial, chip, ATR, the holder's HSA-id checked), as `handover complete --from-reader` does.
# No card, or a card that is not the order's, is refused with the reason and nothing written;
# the reader's fields cannot be typed in.
set -euo pipefail
# shellcheck source=tests/reader/lib.sh
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "no curl"

reader_setup
kiruna_card_stored

kiruna_ui
curl -s -c "$T/jar" -o /dev/null "$LINK"
CSRF=$(curl -s -b "$T/jar" "$BASE/api/session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])')

# post BODY - POST a hand-over; status in CODE, body in BODY.
post() {
    CODE=$(curl -s -b "$T/jar" -o "$T/.body" -w '%{http_code}' -X POST -H "X-CSRF-Token: $CSRF" \
        -H 'Content-Type: application/json' -d "$1" "$BASE/api/step/handover.completed")
    BODY=$(cat "$T/.body")
}
CHECKS='"id_checked":true,"right_person":true,"pin_envelope":true'
before=$(seq_of kiruna kiruna)

post '{"order":"A1",'"$CHECKS"',"from_reader":true}'
[[ $CODE == 409 && "$BODY" =~ "no card of order A1 is in a card reader" ]] ||
    fail "from_reader with no card: $CODE $BODY"
post '{"order":"A1","serial":"SN-A1",'"$CHECKS"',"chip":"'"$CHIP"'","read_by_reader":true}'
[[ $CODE == 400 && "$BODY" =~ "from the reader" ]] || fail "reader fields typed in: $CODE $BODY"
ok "no card in the reader: refused, saying so; the reader's fields cannot be typed in"

make_cert "Other Person" SE2321000016-OTHER
vcard_start --cert "$CERT" --cplc "$(cplc_hex 47905040BBBBBBBB)"
vcard_do insert
wait_log kiruna "card inserted in $READER0: chip 47905040BBBBBBBB.*no card with chip" 10 \
    "a card that was never shipped"
post '{"order":"A1",'"$CHECKS"',"from_reader":true}'
[[ $CODE == 409 && "$BODY" =~ "no card of order A1" ]] || fail "a wrong card: $CODE $BODY"
[[ "$(seq_of kiruna kiruna)" == "$before" ]] || fail "a refused hand-over wrote something"
ok "a wrong card in the reader: the hand-over of A1 is refused, nothing written"

vcard_do remove
make_cert "Anna Test" SE2321000016-TEST1
vcard_do cert "$CERT"
vcard_do cplc "$(cplc_hex "$CHIP")"
vcard_do insert
wait_log kiruna "card inserted in $READER0: chip $CHIP, read in [0-9]+ ms: matches order A1" 10 \
    "the right card"
post '{"order":"A1","serial":"SN-WRONG",'"$CHECKS"',"from_reader":true}'
[[ $CODE == 409 && "$BODY" =~ "not the serial typed" ]] || fail "a typed serial that differs: $CODE $BODY"
post '{"order":"A1",'"$CHECKS"',"from_reader":true}'
[[ $CODE == 200 ]] || fail "the hand-over with the right card in the reader: $CODE $BODY"
kn "$T/kiruna" log show --author "${NID[kiruna]}" --json
expect_rc 0 "log show"
py 'import json,sys
e = [x for x in json.loads(sys.argv[1]) if x["type"] == "handover.completed"][-1]["payload"]
assert e["serial"] == "SN-A1" and e["chip"] == "'"$CHIP"'" and e["read_by_reader"] is True, e
assert e["hsa_id_checked"] is True and e["atr"].startswith("3B"), e
assert "SE2321000016" not in sys.argv[1], "the HSA-id is in the log"'
ok "the right card in the reader: recorded with its serial, chip and ATR, read by the reader, the holder's HSA-id checked (not in the log)"
