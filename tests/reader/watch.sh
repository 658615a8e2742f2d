#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `kortnod reader watch` on the real pcscd with the virtual card: readers appear, a card inserted,
# removed and inserted again is seen in that order with what it says (ATR, chip serial from CPLC,
# HSA-id from its PKCS#15 certificate); a card pulled in the middle of the read, a card that
# answers errors, a malformed certificate, truncated and garbled answers and a card without CPLC
# each give a clear event, never a crash, and the watch goes on to read the next good card.
set -euo pipefail
# shellcheck source=tests/reader/lib.sh
source "$(dirname "$0")/lib.sh"

reader_setup
make_cert "Test Person" SE2321000016-TEST1
GOOD=$CERT
CHIP=4790504012345678
vcard_start --cert "$GOOD" --cplc "$(cplc_hex "$CHIP")"

# watch_start - `reader watch --json` in the background, its lines in $T/watch.out.
watch_start() {
    : >"$T/watch.out"
    "$KORTNOD" --data "$T/none" reader watch --json >"$T/watch.out" 2>"$T/watch.err" &
    WATCH=$!
    STARTED+=("$WATCH")
    WATCH_SEEN=0
}

# watch_next EVENT [SECONDS] - the next event line of the watch (after those already taken) must
# be EVENT (reader-added, card-inserted, ...); the line in $EV.
watch_next() {
    local want=$1 deadline line
    deadline=$(($(now_ms) + ${2:-10} * 1000))
    while :; do
        line=$(sed -n "$((WATCH_SEEN + 1))p" "$T/watch.out")
        if [[ -n "$line" && "$line" == *$'}' ]]; then
            WATCH_SEEN=$((WATCH_SEEN + 1))
            EV=$line
            [[ "$(jq_get event)" == "$want" ]] ||
                fail "the watch said $(jq_get event) where $want was due: $line
--- all of it:
$(cat "$T/watch.out")"
            return 0
        fi
        alive "$WATCH" || fail "reader watch exited: $(cat "$T/watch.err")"
        (($(now_ms) < deadline)) || fail "no $want event within ${2:-10} s; the watch said:
$(cat "$T/watch.out")"
        sleep 0.02
    done
}

watch_start
watch_next service-up
watch_next reader-added
watch_next reader-added
ok "watch: the service and both virtual readers are announced"

vcard_do insert
watch_next card-inserted
[[ "$(jq_get reader)" == "$READER0" ]] || fail "card seen in $(jq_get reader), not $READER0"
[[ "$(jq_get chip)" == "$CHIP" ]] || fail "chip $(jq_get chip), the card's CPLC says $CHIP"
[[ "$(jq_get hsa_id)" == SE2321000016-TEST1 ]] || fail "HSA-id '$(jq_get hsa_id)'"
want_serial=$(openssl x509 -inform DER -in "$GOOD" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' |
    sed 's/^0*//')
# (openssl drops a leading zero digit; kortnod writes whole bytes)
[[ "$(jq_get cert_serial | sed 's/^0*//')" == "$want_serial" ]] ||
    fail "certificate serial $(jq_get cert_serial), openssl says $want_serial"
[[ "$(jq_get atr)" =~ ^3B[0-9A-F]+$ ]] || fail "ATR '$(jq_get atr)'"
ok "insert: identified (chip $CHIP, HSA-id SE2321000016-TEST1, certificate serial, ATR)"

vcard_do remove
watch_next card-removed
[[ "$(jq_get reader)" == "$READER0" ]] || fail "removal seen in $(jq_get reader)"
make_cert "Other Person" SE2321000016-OTHER
vcard_do cert "$CERT"
vcard_do cplc "$(cplc_hex 47905040AAAABBBB)"
vcard_do insert
watch_next card-inserted
[[ "$(jq_get chip)" == 47905040AAAABBBB && "$(jq_get hsa_id)" == SE2321000016-OTHER ]] ||
    fail "the second card read as $EV"
ok "remove, then another card inserted: removal and the new identity seen in order"

# The card pulled in the middle of the read (after 4 answers: CPLC, EF.DIR...).
vcard_do remove
watch_next card-removed
vcard_do mode cut 4
vcard_do insert
watch_next read-error
expect_text "removed during the read" "$(jq_get detail)" "card pulled mid-read"
watch_next card-removed
vcard_do mode normal
ok "card pulled mid-read: read-error 'removed during the read', then card-removed"

# bad_card WHAT PATTERN CMD... - the card set up by CMD gives a read-error matching PATTERN.
bad_card() {
    local what=$1 pat=$2 detail
    shift 2
    "$@"
    vcard_do insert
    watch_next read-error
    detail=$(jq_get detail)
    expect_text "$pat" "$detail" "$what"
    [[ "$(jq_get chip)" == "" ]] || fail "$what: an identity was given with the error: $EV"
    vcard_do remove
    watch_next card-removed
    vcard_do mode normal
    ok "$what: read-error '$detail'"
}

# a certificate whose outer length is one byte off, and one cut short
python3 - "$GOOD" "$T/badlen.der" "$T/short.der" <<'EOF'
import sys
c = bytearray(open(sys.argv[1], "rb").read())
bad = bytearray(c)
bad[3] ^= 0x01
open(sys.argv[2], "wb").write(bad)
open(sys.argv[3], "wb").write(c[: len(c) // 2])
EOF
bad_card "malformed certificate" "malformed|not DER|ends after" vcard_do cert "$T/badlen.der"
bad_card "certificate cut short" "ends after|malformed" vcard_do cert "$T/short.der"
vcard_do cert "$GOOD"
bad_card "truncated answers" "truncated|malformed|not DER|ends after" vcard_do mode truncate 3
bad_card "garbled answers" "malformed|not DER|truncated|ends after" vcard_do mode garbage
bad_card "a card that answers 6F00 to everything" "answered 6F00" vcard_do mode error 6F00

# A card without CPLC: no chip serial, the HSA-id still; GET DATA only in class 00: asked again.
vcard_do cplc none
vcard_do insert
watch_next card-inserted
[[ "$(jq_get chip)" == "" && "$(jq_get hsa_id)" == SE2321000016-TEST1 ]] ||
    fail "card without CPLC read as $EV"
vcard_do remove
watch_next card-removed
vcard_do cplc "$(cplc_hex "$CHIP")"
vcard_do mode cla00
vcard_do insert
watch_next card-inserted
[[ "$(jq_get chip)" == "$CHIP" ]] || fail "GET DATA in class 00 not tried: $EV"
ok "no CPLC: the HSA-id alone; CPLC only in class 00: read after 6E00"

# Ctrl-C stops the watch at once and cleanly (SCardCancel wakes its thread).
t0=$(now_ms)
kill -INT "$WATCH"
rc=0
wait "$WATCH" || rc=$?
((rc == 0)) || fail "reader watch exited with $rc on SIGINT: $(cat "$T/watch.err")"
(($(now_ms) - t0 < 3000)) || fail "reader watch took $(($(now_ms) - t0)) ms to stop"
ok "watch: stops on Ctrl-C in $(($(now_ms) - t0)) ms with status 0"
