#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Sealed personal data. The hub places an order with the holder's name, personal identity
# number, phone and e-mail: they are sealed to the hub and to the order's office, so no node's
# database holds them in clear. The hub and the office's node read them; a relay of another
# office holds only ciphertext yet verifies every signature and chain; a node enrolled for the
# office later reads the earlier order; reports never show them.
# shellcheck source=tests/trust/lib.sh
source "$(dirname "$0")/lib.sh"

NAME="Anna Andersson" PNR="19800101-2389" MAIL="anna.andersson@example.se"
hub h
office s h
office r h
register h storuman
register h lycksele
enrol h s storuman
enrol h r lycksele
kn "$T/h" order place --order o1 --office storuman --care-provider vc-storuman \
    --card-type siths-e --holder "$NAME" --pnr "$PNR" --phone "070-123 45 67" --email "$MAIL"
expect_rc 0 "order place with the holder's data"
expect_text 'sealed to the hub and the office' "$OUT" "order place says it sealed the data"
xfer h s
xfer h r

# in_clear NAME - 0 when any of NAME's database files holds the name, pnr or e-mail in clear.
in_clear() {
    cat "$T/$1"/kortnod.db* | grep -a -q -e "$NAME" -e "$PNR" -e "$MAIL"
}
for n in h s r; do
    ! in_clear "$n" || fail "$n's database holds the holder's data in clear"
done
ok "no database (hub, office, relay) holds the holder's name, personal number or e-mail in clear"

for n in h s; do
    kn "$T/$n" order holder --order o1
    expect_rc 0 "order holder at $n"
    py 'import json,sys; d=json.loads(sys.argv[1]); assert d["name"]==sys.argv[2] and d["pnr"]==sys.argv[3], d' "$NAME" "$PNR"
done
ok "the hub and the office's node read the holder's data"

kn "$T/r" order holder --order o1
expect_rc 1 "order holder at the relay of another office"
expect_text 'cannot read it' "$ERR" "the relay says it cannot"
reject_text "$NAME" "$ERR$OUT" "the relay's refusal"
kn "$T/r" log verify --every
expect_rc 0 "log verify --every at the relay"
ok "a relay of another office cannot read it, yet verifies every signature and chain"

office s2 h
enrol h s2 storuman
xfer h s2
kn "$T/s2" order holder --order o1
expect_rc 0 "order holder at a node enrolled later for the office"
expect_text "$NAME" "$OUT" "the later node reads the earlier order"
ok "a node enrolled later for the office reads the office's earlier orders"

for n in h s; do
    for rep in orders stock conflicts alerts directory; do
        kn "$T/$n" report "$rep" --json
        expect_rc 0 "report $rep at $n"
        reject_text "$NAME|$PNR|$MAIL" "$OUT" "report $rep at $n"
    done
done
ok "no report shows the holder's data"

# The holder's data from standard input (--holder-file -): in no process list or shell history.
SNAME="Stina Stdin"
run "$KORTNOD" --data "$T/h" order place --order o4 --office storuman --care-provider vc \
    --card-type siths-e --holder-file - <<<"{\"name\": \"$SNAME\", \"pnr\": \"19750505-5555\"}"
expect_rc 0 "order place with --holder-file -"
expect_text 'sealed to the hub and the office' "$OUT" "it sealed the data"
kn "$T/h" order holder --order o4
expect_rc 0 "order holder o4 at the hub"
expect_text "$SNAME" "$OUT" "the hub reads the data given on standard input"
! cat "$T/h"/kortnod.db* | grep -a -q -e "$SNAME" || fail "the hub's database holds it in clear"
printf '{"name": "Secret Person", "shoe": "44"}' >"$T/bad.json"
kn "$T/h" order place --order o5 --office storuman --care-provider vc --card-type siths-e \
    --holder-file "$T/bad.json"
expect_rc 2 "order place with a holder file of unknown fields"
reject_text "Secret Person" "$ERR" "the refusal does not echo the personal data"
ok "--holder-file - reads the holder's data from standard input; a bad file is refused unechoed"

# A reserve card's holder, sealed by the office that issues it (an organisation office issues
# reserve cards once it has two ID administrators).
for a in adm-1 adm-2; do
    kn "$T/h" office admin-add --office storuman --admin "$a" --name "Administrator $a"
    expect_rc 0 "admin-add $a"
done
xfer h s
RNAME="Bertil Reservsson"
until=$(($(date +%s) * 1000 + 30 * 86400000)) # valid a month
kn "$T/s" reserve issue --reserve R1 --office storuman --holder "$RNAME" --pnr 19900202-1234 \
    --reason lost-card --valid-until-ms "$until" --receipt KV-1
expect_rc 0 "reserve issue with the holder's data at the office"
expect_text 'sealed to the hub and the office \(reserve.holder\)' "$OUT" "reserve issue says it sealed"
xfer s h
xfer h r
for n in h s r; do
    ! cat "$T/$n"/kortnod.db* | grep -a -q -e "$RNAME" || fail "$n holds the reserve holder in clear"
done
for n in h s; do
    kn "$T/$n" reserve holder --reserve R1
    expect_rc 0 "reserve holder at $n"
    expect_text "$RNAME" "$OUT" "$n reads the reserve holder"
done
kn "$T/r" reserve holder --reserve R1
expect_rc 1 "reserve holder at the relay"
ok "a reserve card's holder: sealed by the office, read by the hub and the office, not the relay"
