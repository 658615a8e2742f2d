#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A full disk. The hub H's database may not grow beyond its present size (KORTNOD_DB_MAX_PAGES,
# SQLite's max_page_count), and its free room is used up. Then:
#  - `log append` and a domain step (`order place`) at H fail with exit status 1 and "the
#    database is full (disk full or size limit): nothing was written"; H's clock and file do not
#    change, and `log verify --every` passes;
#  - H's daemon, receiving the office A's new entries, logs that its database is full, closes
#    that connection, and keeps running (A's daemon tries again, and H says so again); it stores
#    none of them;
#  - with room again (the daemon restarted with a higher limit, then the command line without
#    one), H catches up with A, writes again, and both end with the same clock and state.
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is needed (package sqlite3)"

FULL_MSG='the database is full \(disk full or size limit\): nothing was written'
new_hub h
new_office a h
assign_ports h a
peer a h
start h
start a
kn "$T/h" order place --order O-1 --office a --care-provider vc-a --card-type siths-e
expect_rc 0 "order place at H"
append a 3 before
wait_converged 20 "H and A before the disk fills" h a
stop h TERM 10
[[ $STOP_RC == 0 ]] || fail "H exited with status $STOP_RC after SIGTERM"
[[ ! -s "$T/h/kortnod.db-wal" ]] || fail "H's WAL is not empty after a clean stop"
PAGES=$(sqlite3 "$T/h/kortnod.db" 'PRAGMA page_count')
ok "H and A meet; H stops with $PAGES pages in its database"

# ---- the disk fills ----
# Entries of 2000, 200 and 0 payload bytes until none fits: what room is left is smaller than any
# entry H writes below.
for pad in 2000 200 0; do
    run env KORTNOD_DB_MAX_PAGES="$PAGES" "$GEN_ENTRIES" "$T/h" 100000 --pad "$pad" --tx 1
    expect_rc 1 "gen_entries at H with KORTNOD_DB_MAX_PAGES=$PAGES, $pad-byte payloads"
    expect_text "$FULL_MSG" "$ERR" "gen_entries stops at a full database"
done
[[ $(sqlite3 "$T/h/kortnod.db" 'PRAGMA page_count') == "$PAGES" ]] ||
    fail "H's database grew beyond $PAGES pages"
clock_before=$(clock_json h)
HSEQ=$(seq_in "$clock_before" "${NID[h]}")
ok "H's database is full at $PAGES pages: its own feed is at seq $HSEQ"

# refused WHAT ARGS... - a write at H with the limit set: exit 1, the message, nothing written.
refused() {
    local what=$1
    shift
    run env KORTNOD_DB_MAX_PAGES="$PAGES" "$KORTNOD" --data "$T/h" "$@"
    expect_rc 1 "$what at a full H"
    expect_text "^kortnod: $what: $FULL_MSG\$" "$ERR" "$what at a full H says why"
    [[ "$(clock_json h)" == "$clock_before" ]] || fail "$what at a full H changed its clock"
    ok "$what at the full H: exit 1, '$(head -n 1 <<<"$ERR")'; its clock does not change"
}
refused "log append" log append --type test.full \
    --body '{"note":"a write that finds the database full, longer than any entry that fitted"}'
refused "order place" order place --order O-2 --office a --care-provider vc-a --card-type siths-e
run env KORTNOD_DB_MAX_PAGES="$PAGES" "$KORTNOD" --data "$T/h" log verify --every
expect_rc 0 "log verify --every at the full H"
[[ $(sqlite3 "$T/h/kortnod.db" 'PRAGMA page_count') == "$PAGES" ]] ||
    fail "H's database grew beyond $PAGES pages"
ok "nothing partial: log verify --every passes at the full H ($OUT)"

# ---- the daemon, full, receives entries ----
export KORTNOD_DB_MAX_PAGES=$PAGES
start h
unset KORTNOD_DB_MAX_PAGES
ASEQ=$(seq_of h a)
run "$GEN_ENTRIES" "$T/a" 300 --pad 1000 --tx 300
expect_rc 0 "gen_entries: 300 entries at A"
ATIP=$OUT
PATTERN="storing entries: $FULL_MSG; closing"
wait_count h "$PATTERN" 0 20 "H's daemon, full, receives A's entries"
# A's daemon redials (with back-off): H serves it again, and fails the same way again.
wait_count h "$PATTERN" 1 20 "H's daemon, still full, receives A's entries again"
check_alive h a
[[ $(seq_of h a) == "$ASEQ" ]] || fail "the full H stored some of A's entries: A's feed at $(seq_of h a), was $ASEQ"
kn "$T/h" log verify --every
expect_rc 0 "log verify --every at H while its daemon is full"
ok "H's daemon, full: '$(grep -E -m 1 -o "peer .*$PATTERN" "$T/h.log")', twice; it keeps running and stores none of A's $((ATIP - ASEQ)) new entries"

# ---- room again ----
stop h TERM 10
[[ $STOP_RC == 0 ]] || fail "H exited with status $STOP_RC after SIGTERM"
export KORTNOD_DB_MAX_PAGES=$((PAGES * 20))
start h
unset KORTNOD_DB_MAX_PAGES
wait_seq h a "$ATIP" 60 "H catches up with A once its database has room"
ok "the limit raised to $((PAGES * 20)) pages and H's daemon restarted: H catches up with A ($ATIP entries of A's feed)"
kn "$T/h" log append --type test.full --body '{"note":"room again"}'
expect_rc 0 "log append at H without the limit"
kn "$T/h" order place --order O-2 --office a --care-provider vc-a --card-type siths-e
expect_rc 0 "order place at H without the limit"
wait_converged 20 "H's new entries reaching A" h a
ok "without the limit, log append and order place at H succeed, and reach A"

stop a TERM 10
stop h TERM 10
verify_every h a
same_digests h a
ok "log verify --every passes at both ($VERIFIED entries); same clock, same state digest"
