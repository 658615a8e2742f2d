#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# log verify finds a changed byte anywhere in a stored entry and names the entry
# (AUTHOR:SEQ), in both modes; the database itself refuses UPDATE and DELETE of the log.
#
# Each tamper is checked to be real (the stored bytes differ from what was signed, in exactly one
# byte) and to be the cause (verify passes before it and again once the byte is put back), so the
# test cannot pass through a tamper that silently did nothing.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || fail "the sqlite3 shell is needed (package sqlite3)"

D="$T/node"
DB="$D/kortnod.db"
new_node "$D"
for i in 1 2 3 4 5; do
    kn "$D" log append --type order.placed \
        --body "{\"order\":\"ORD-100$i\",\"office\":\"storuman\",\"items\":[$i,\"SITHS\"]}"
    expect_rc 0 "log append #$i"
done

# blob_hex TABLE COLUMN SEQ - the hex of a stored blob of our feed.
blob_hex() {
    sqlite3 "$DB" "SELECT hex($2) FROM $1 WHERE author = X'$ID' AND seq = $3" ||
        fail "sqlite3 could not read $1.$2 of seq $3"
}

# blob_set TABLE COLUMN SEQ HEX - overwrite a stored blob (the log's update trigger dropped).
blob_set() {
    sqlite3 "$DB" "UPDATE $1 SET $2 = X'$4' WHERE author = X'$ID' AND seq = $3" ||
        fail "sqlite3 could not write $1.$2 of seq $3"
    [[ "$(blob_hex "$1" "$2" "$3")" == "$4" ]] || fail "$1.$2 of seq $3 did not take the new bytes"
}

# flip_hex HEX INDEX - HEX with byte INDEX (0-based) XORed with 0x5a.
flip_hex() {
    python3 -c '
import sys
b = bytearray.fromhex(sys.argv[1])
i = int(sys.argv[2])
assert 0 <= i < len(b), "byte %d of %d" % (i, len(b))
b[i] ^= 0x5A
print(b.hex().upper())' "$1" "$2"
}

verify_ok() {
    for mode in '' --every; do
        # shellcheck disable=SC2086
        kn "$D" log verify $mode
        expect_rc 0 "log verify $mode ($1)"
        expect_text '^log verify: ok, 5 entries checked' "$OUT" "log verify $mode ($1)"
    done
}

# verify_names SEQ WHAT - log verify, in both modes, exits 1 naming AUTHOR:SEQ and no other
# entry of the feed.
verify_names() {
    local mode s
    for mode in '' --every; do
        # shellcheck disable=SC2086
        kn "$D" log verify $mode
        expect_rc 1 "log verify $mode after $2"
        expect_text "$ID:$1([^0-9]|$)" "$OUT" "log verify $mode after $2 names $ID:$1"
        for s in 1 2 3 4 5; do
            [[ "$s" == "$1" ]] && continue
            reject_text "$ID:$s([^0-9]|$)" "$OUT" "log verify $mode after $2 names only seq $1"
        done
    done
}

# tamper TABLE COLUMN SEQ INDEX WHAT - flip one byte of a stored blob, check that verify names
# the entry, put the byte back.
tamper() {
    local table=$1 col=$2 seq=$3 index=$4 what=$5
    local orig new diff
    orig=$(blob_hex "$table" "$col" "$seq")
    [[ -n "$orig" ]] || fail "no $table row for seq $seq"
    new=$(flip_hex "$orig" "$index")
    diff=$(python3 -c '
import sys
a, b = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
print(sum(x != y for x, y in zip(a, b)) if len(a) == len(b) else -1)' "$orig" "$new")
    [[ "$diff" == 1 ]] || fail "$what: the flip changed $diff bytes, want exactly 1"
    blob_set "$table" "$col" "$seq" "$new"
    verify_names "$seq" "$what"
    blob_set "$table" "$col" "$seq" "$orig"
    verify_ok "after undoing $what"
    ok "$what: log verify exits 1 naming $ID:$seq"
}

verify_ok "a good log"
ok "log verify passes on a good 5-entry feed"

# (d) first, while the triggers are in place: the database refuses to change the log.
h3=$(blob_hex log header 3)
run sqlite3 "$DB" "UPDATE log SET header = X'$(flip_hex "$h3" 40)' WHERE author = X'$ID' AND seq = 3"
[[ "$RC" != 0 ]] || fail "sqlite3 UPDATE of the log succeeded: the append-only trigger is missing"
expect_text 'append-only' "$ERR$OUT" "the refused UPDATE says the log is append-only"
run sqlite3 "$DB" "DELETE FROM log WHERE author = X'$ID' AND seq = 5"
[[ "$RC" != 0 ]] || fail "sqlite3 DELETE from the log succeeded: the append-only trigger is missing"
expect_text 'append-only' "$ERR$OUT" "the refused DELETE says the log is append-only"
run sqlite3 "$DB" "UPDATE log SET seq = seq + 10"
[[ "$RC" != 0 ]] || fail "sqlite3 UPDATE of the log's seq succeeded"
[[ "$(blob_hex log header 3)" == "$h3" ]] || fail "the refused UPDATE changed seq 3 anyway"
[[ "$(sqlite3 "$DB" 'SELECT count(*) FROM log')" == 5 ]] || fail "the refused DELETE removed rows"
verify_ok "after the refused UPDATE and DELETE"
ok "without dropping the triggers SQLite refuses UPDATE and DELETE (append-only)"

sqlite3 "$DB" "DROP TRIGGER log_no_update" || fail "could not drop trigger log_no_update"

# (a) one byte in the middle of seq 3's signed header.
len3=$(($(blob_hex log header 3 | wc -c) / 2))
((len3 > 100)) || fail "seq 3's signed header is only $len3 bytes"
tamper log header 3 $((len3 / 2)) "a byte in the middle of seq 3's header"
# The same at other places of the header: its first byte, the author, the type, the last byte
# before the signature, the signature's first byte.
tamper log header 3 0 "the first byte of seq 3's header"
tamper log header 3 10 "a byte of the author inside seq 3's header"
tamper log header 3 $((len3 - 64 - 1)) "the last header byte of seq 3"
tamper log header 3 $((len3 - 64)) "the first signature byte of seq 3"

# (b) one byte of seq 2's payload.
plen2=$(($(blob_hex payloads body 2 | wc -c) / 2))
((plen2 > 10)) || fail "seq 2's payload is only $plen2 bytes"
tamper payloads body 2 $((plen2 / 2)) "a byte in the middle of seq 2's payload"
tamper payloads body 2 0 "the first byte of seq 2's payload"

# (c) one byte of the tip's signature (the last 64 bytes of its signed header). In chain mode
# this is the one signature verify checks: it vouches for every link below it.
len5=$(($(blob_hex log header 5 | wc -c) / 2))
tamper log header 5 $((len5 - 32)) "a byte of the tip's (seq 5) signature"
tamper log header 5 $((len5 - 1)) "the last byte of the tip's (seq 5) signature"
len1=$(($(blob_hex log header 1 | wc -c) / 2))
tamper log header 1 $((len1 / 2)) "a byte in the middle of seq 1's header"

# A payload row removed is named too (the payloads table has no trigger: retention may prune).
p4=$(blob_hex payloads body 4)
sqlite3 "$DB" "DELETE FROM payloads WHERE author = X'$ID' AND seq = 4" || fail "DELETE payload"
verify_names 4 "removing seq 4's payload"
sqlite3 "$DB" "INSERT INTO payloads(author, seq, body) VALUES (X'$ID', 4, X'$p4')" ||
    fail "could not put seq 4's payload back"
verify_ok "after putting seq 4's payload back"
ok "a missing payload: log verify exits 1 naming $ID:4"
