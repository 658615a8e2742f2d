#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `handover complete --from-reader` on the real pcscd with the virtual card. The hub ships three
# cards: A1 with its chip serial recorded and the holder's HSA-id in the sealed holder data, B1
# likewise for another holder, C1 with neither. At the office:
#  - no card in the reader: a clear message, nothing recorded;
#  - B1's card offered for A1 (wrong chip): refused, nothing recorded;
#  - a card with A1's chip but another holder's certificate: refused, nothing recorded;
#  - A1's own card: `reader read` says it matches order A1, the hand-over is recorded with the
#    chip, the ATR, read_by_reader and hsa_id_checked, and the projection marks it read;
#  - C1 (nothing to check against): refused from the reader; typed in, recorded as not read.
set -euo pipefail
# shellcheck source=tests/reader/lib.sh
source "$(dirname "$0")/lib.sh"

reader_setup
new_hub hub
new_office kiruna hub
H=$T/hub K=$T/kiruna
for a in adm-1 adm-2; do
    kn "$H" office admin-add --office kiruna --admin $a --name "Administrator $a"
    expect_rc 0 "admin-add $a"
done
CHIP_A=47905040000000A1 CHIP_B=47905040000000B1

hub_do() {
    kn "$H" "$@"
    expect_rc 0 "hub: $*"
}
office_do() {
    kn "$K" "$@"
    expect_rc 0 "kiruna: $*"
}

hub_do order place --order A1 --care-provider region-norrbotten --office kiruna \
    --card-type siths-e --holder "Anna Test" --hsa-id SE2321000016-TEST1
hub_do order place --order B1 --care-provider region-norrbotten --office kiruna \
    --card-type siths-e --holder "Bo Test" --hsa-id SE2321000016-TEST2
hub_do order place --order C1 --care-provider region-norrbotten --office kiruna \
    --card-type siths-e --holder "Cecilia Test"
hub_do card ship --order A1 --serial SN-A1 --rek RR1SE --chip "$CHIP_A"
hub_do card ship --order B1 --serial SN-B1 --rek RR2SE --chip "$CHIP_B"
hub_do card ship --order C1 --serial SN-C1 --rek RR3SE
kn "$H" card ship --order C1 --serial SN-C9 --rek RR4SE --chip 123
expect_rc 1 "a shipment whose chip is not 16 hex digits"
hub_do export --out "$T/hub.kn"
office_do import "$T/hub.kn"
for o in A1 B1 C1; do
    office_do card notice --order $o
    office_do card collect --order $o
    office_do card store --order $o --locked
done
ok "three cards shipped (A1, B1 with chip and HSA-id; C1 without) and stored at the office"

make_cert "Anna Test" SE2321000016-TEST1
CERT_A=$CERT
make_cert "Bo Test" SE2321000016-TEST2
CERT_B=$CERT
make_cert "Someone Else" SE2321000016-ELSE
CERT_ELSE=$CERT
vcard_start --cert "$CERT_B" --cplc "$(cplc_hex "$CHIP_B")"

HANDOVER=(handover complete --order A1 --id-checked --right-person --pin-envelope)

# nothing_recorded WHAT - the office's own feed did not grow since $SEQ0.
nothing_recorded() {
    [[ "$(seq_of kiruna kiruna)" == "$SEQ0" ]] ||
        fail "$1: the office's feed went from $SEQ0 to $(seq_of kiruna kiruna)"
}
SEQ0=$(seq_of kiruna kiruna)

kn "$K" "${HANDOVER[@]}" --from-reader
expect_rc 1 "hand-over from an empty reader"
expect_text "no card in any reader" "$ERR" "empty reader"
expect_text "Nothing was recorded" "$ERR" "empty reader"
nothing_recorded "empty reader"
kn "$K" "${HANDOVER[@]}" --from-reader "No Such Reader"
expect_rc 1 "a reader that does not exist"
expect_text "no reader named 'No Such Reader'" "$ERR" "unknown reader"
nothing_recorded "unknown reader"
ok "no card, or no such reader: a clear message, nothing recorded"

vcard_do insert
card_wait present
kn "$K" "${HANDOVER[@]}" --from-reader "$READER0"
expect_rc 1 "B1's card for order A1"
expect_text "wrong card: the card in $READER0 has chip $CHIP_B; order A1's card was shipped with chip $CHIP_A" "$ERR" "wrong card"
nothing_recorded "wrong card"
kn "$K" reader read --json
expect_rc 0 "reader read"
py 'import json,sys; d=json.loads(sys.argv[1]); assert d["chip"] == "'"$CHIP_B"'" and d["order"] == "B1" and d["matches"], d'
ok "B1's card offered for A1: refused (wrong chip), nothing recorded; reader read says it is B1's"

vcard_do remove
card_wait absent
vcard_do cert "$CERT_ELSE"
vcard_do cplc "$(cplc_hex "$CHIP_A")"
vcard_do insert
card_wait present
kn "$K" "${HANDOVER[@]}" --from-reader
expect_rc 1 "A1's chip with another holder's certificate"
expect_text "wrong holder" "$ERR" "wrong holder"
reject_text "SE2321000016-TEST1" "$ERR" "the refusal must not print the holder's HSA-id"
nothing_recorded "wrong holder"
kn "$K" reader read
expect_text "certificate is not the holder's: do not hand it over" "$OUT" "reader read, wrong holder"
ok "A1's chip with someone else's certificate: refused (HSA-id), nothing recorded"

kn "$K" "${HANDOVER[@]}" --read-by-reader --serial SN-A1
expect_rc 2 "--read-by-reader typed by hand"
expect_text "set by --from-reader" "$ERR" "--read-by-reader typed"
nothing_recorded "--read-by-reader typed"

vcard_do remove
card_wait absent
vcard_do cert "$CERT_A"
vcard_do insert
card_wait present
kn "$K" reader read
expect_rc 0 "reader read, A1's card"
expect_text "matches order A1 \(chip and the holder's HSA-id\)" "$OUT" "reader read, A1's card"
kn "$K" "${HANDOVER[@]}" --from-reader
expect_rc 0 "A1's own card"
expect_text "card read in $READER0: matches order A1 \(chip, HSA-id\)" "$OUT" "A1's own card"
(($(seq_of kiruna kiruna) == SEQ0 + 1)) || fail "the hand-over was not recorded once"
kn "$K" log show --author "${NID[kiruna]}" --json
py 'import json,sys
e = [x for x in json.loads(sys.argv[1]) if x["type"] == "handover.completed"]
assert len(e) == 1, e
b = e[0]["payload"]
assert b["order"] == "A1" and b["serial"] == "SN-A1" and b["chip"] == "'"$CHIP_A"'", b
assert b["read_by_reader"] is True and b["hsa_id_checked"] is True and b["atr"].startswith("3B"), b
assert "SE2321000016" not in sys.argv[1], "the HSA-id is in the log"'
kn "$K" report orders --json
py 'import json,sys; d={r["order_id"]: r for r in json.loads(sys.argv[1])}; assert d["A1"]["state"] == "handed-over", d'
[[ "$(sqlite3 "$K/kortnod.db" "SELECT read_by_reader FROM p_orders WHERE order_id = 'A1'")" == 1 ]] ||
    fail "the projection does not mark A1 as read by a reader"
ok "A1's own card: recorded with chip, ATR, read_by_reader, hsa_id_checked (the HSA-id itself not in the log)"

SEQ0=$(seq_of kiruna kiruna)
kn "$K" handover complete --order C1 --id-checked --right-person --pin-envelope --from-reader
expect_rc 1 "C1 from the reader"
expect_text "nothing the card says can be checked against order C1" "$ERR" "C1 from the reader"
nothing_recorded "C1 from the reader"
office_do handover complete --order C1 --serial SN-C1 --id-checked --right-person --pin-envelope
[[ "$(sqlite3 "$K/kortnod.db" "SELECT read_by_reader FROM p_orders WHERE order_id = 'C1'")" == 0 ]] ||
    fail "C1, typed in, is not marked as not read by a reader"
ok "C1 (no chip or HSA-id on record): refused from the reader; typed in, recorded as not read"

# The hub takes the office's hand-overs in: the same state at both.
office_do export --out "$T/kiruna.kn"
hub_do import "$T/kiruna.kn"
hub_do state digest
digest=$OUT
office_do state digest
[[ "$OUT" == "$digest" ]] || fail "hub and office digests differ: $digest / $OUT"
ok "the hub and the office agree on the state"
