#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A damaged database page. A hub H and the offices A and B (each dials H) hold a few thousand
# entries and some card steps; all have met.
#  1. A is stopped and writes 3 entries no peer has; then 64 bytes at the start of one of its
#     log's pages (a b-tree page in the middle of the file, holding H's entries, chosen by the
#     seed) are overwritten. `log verify` and a read of H's feed say "database file is damaged"
#     and what to do (kortnod recover); `kortnod recover` refuses while A's daemon runs; stopped,
#     it keeps the damaged file aside (kortnod.db.damaged-TIME, unchanged), starts a new log with
#     the same key, reads back what still verifies (A's 3 entries no peer had among it) and
#     fetches the rest from H. A then has H's clock, writes again without a fork, and after a
#     round of live sync H, A and B have one clock and one state digest.
#  2. B is stopped and bytes of its first page, past the 100-byte file header (where SQLite keeps
#     the schema), are overwritten: B cannot be opened at all. `kortnod recover` asks for the role
#     and the hub and changes nothing; given them, it rebuilds B's log from H, B's own feed
#     included, and B again has the others' clock and state.
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is needed (package sqlite3)"

NODES=(h a b)
new_hub h
new_office a h
new_office b h
declare -A GEN=([h]=3000 [a]=1500 [b]=1500)
for x in "${NODES[@]}"; do
    run "$GEN_ENTRIES" "$T/$x" "${GEN[$x]}" --pad 200 --tx 1000
    expect_rc 0 "gen_entries: ${GEN[$x]} entries at $x"
done
assign_ports "${NODES[@]}"
peer a h
peer b h
for x in "${NODES[@]}"; do
    start "$x"
done
for i in 1 2 3; do
    kn "$T/h" order place --order "O-$i" --office a --care-provider vc-a --card-type siths-e
    expect_rc 0 "order place O-$i at H"
done
wait_converged 30 "H's orders reaching A" "${NODES[@]}"
kn "$T/a" catalogue add --entry E-1 --office a --person "Person 1" --unit "Unit 1"
expect_rc 0 "catalogue add at A"
wait_converged 30 "everything before the damage" "${NODES[@]}"
ok "H, A and B hold the same $(($(seq_of h h) + $(seq_of h a) + $(seq_of h b))) entries"

# damage DB PAGE OFFSET N - overwrite N bytes at OFFSET of page PAGE (from 1) with random bytes
# from the seed; the first of them is never a b-tree page type (2, 5, 10, 13), so that the page
# can no longer be read as one when OFFSET is a page's start.
damage() {
    rnd 1 2000000000
    python3 - "$@" "$R" <<'EOF' || fail "damaging $1 failed"
import random, sys
path, page, off, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
with open(path, "r+b") as f:
    size = int.from_bytes(f.read(100)[16:18], "big")
    size = 65536 if size == 1 else size
    new = bytearray(rng.randrange(256) for _ in range(n))
    while new[0] in (2, 5, 10, 13):
        new[0] = rng.randrange(256)
    f.seek((page - 1) * size + off)
    f.write(new)
print(size)
EOF
}

# ---- 1. a page of A's log ----
stop a TERM 10
[[ $STOP_RC == 0 ]] || fail "A exited with status $STOP_RC after SIGTERM"
append a 3 offline
A_TIP=$(seq_of a a)
[[ ! -s "$T/a/kortnod.db-wal" ]] || fail "A's WAL is not empty after a clean stop"
# The log's leaf pages that hold H's entries and none of A's.
mapfile -t pages < <(python3 - "$T/a/kortnod.db" "${NID[h]}" "${NID[a]}" \
    "$(sqlite3 "$T/a/kortnod.db" "SELECT pageno FROM dbstat WHERE name = 'log' AND pagetype = 'leaf'")" <<'EOF'
import sys
path, h, a, pages = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4].split()
data = open(path, "rb").read()
size = int.from_bytes(data[16:18], "big")
size = 65536 if size == 1 else size
for p in pages:
    page = data[(int(p) - 1) * size:int(p) * size]
    if h in page and a not in page:
        print(p)
EOF
)
((${#pages[@]} >= 3)) || fail "A's log has ${#pages[@]} leaf pages of H's entries only, want at least 3"
rnd 1 $((${#pages[@]} - 2))
PAGE=${pages[$R]}
total=$(sqlite3 "$T/a/kortnod.db" 'PRAGMA page_count')
psize=$(damage "$T/a/kortnod.db" "$PAGE" 0 64)
ok "A stopped, wrote 3 entries no peer has (own feed at seq $A_TIP); 64 bytes of page $PAGE of $total ($psize bytes a page, one of ${#pages[@]} holding only H's entries) overwritten"

kn "$T/a" log verify
expect_rc 1 "log verify at the damaged A"
expect_text "^kortnod: log verify: database file is damaged" "$ERR" "log verify says the file is damaged"
expect_text "kortnod recover" "$ERR" "log verify says what to do"
ok "log verify at A: exit 1, '$(head -n 1 <<<"$ERR")'"
kn "$T/a" log show --author "${NID[h]}"
expect_rc 1 "reading H's feed at the damaged A"
expect_text "database file is damaged" "$ERR" "reading H's feed says the file is damaged"
ok "reading H's feed at A: exit 1, '$ERR'"

# recover refuses while the daemon runs (a daemon with no peer, so that A's new entries stay
# A's alone).
mv "$T/a/kortnod.conf" "$T/a/kortnod.conf.off"
start a
deadline=$(($(now_ms) + 5000))
until [[ -s "$T/a/status.json" ]]; do
    (($(now_ms) < deadline)) || fail "A's daemon wrote no status.json in 5 s"
    sleep 0.05
done
kn "$T/a" recover
expect_rc 1 "recover while A's daemon runs"
expect_text "daemon .* is running .*stop it first; nothing was changed" "$ERR" "recover says to stop the daemon"
[[ -z "$(compgen -G "$T/a/kortnod.db.damaged-*")" ]] || fail "recover moved the file while the daemon ran"
stop a TERM 10
mv "$T/a/kortnod.conf.off" "$T/a/kortnod.conf"
ok "recover while A's daemon runs: exit 1, '$ERR'"

cp "$T/a/kortnod.db" "$T/damaged-a.db"
kn "$T/a" recover
expect_rc 0 "recover at the damaged A"
while IFS= read -r line; do echo "# recover: $line"; done <<<"$OUT"
expect_text "^the database is damaged: " "$OUT" "recover finds the damage"
expect_text "^the damaged database is kept as $T/a/kortnod.db.damaged-[0-9]{8}T[0-9]{6}Z " "$OUT" \
    "recover says where the damaged file is"
expect_text "^own feed: seq $A_TIP in this database" "$OUT" "A's own feed, all of it, read back from the damaged file"
expect_text "^recovered: own feed up to seq $A_TIP " "$OUT" "recover ends with A's own feed"
aside=$(compgen -G "$T/a/kortnod.db.damaged-*" | grep -v -- '-wal$\|-shm$')
[[ $(wc -l <<<"$aside") == 1 ]] || fail "not one damaged file kept: $aside"
cmp -s "$aside" "$T/damaged-a.db" || fail "the damaged file kept aside is not the damaged file"
salvaged=$(sed -n 's/^a new log with this node.s key: \([0-9]*\) entries read back.*/\1/p' <<<"$OUT")
((salvaged > 0 && salvaged < $(seq_of h h) + $(seq_of h a) + $(seq_of h b))) ||
    fail "recover read back $salvaged entries from the damaged file"
ok "recover at A: exit 0; the damaged file kept, unchanged, as $(basename "$aside"); $salvaged entries read back from it (A's 3 new ones among them), the rest fetched from H"

same_clocks h a || fail "A's clock after recover is not H's
$(show_clocks h a)"
kn "$T/a" log verify --every
expect_rc 0 "log verify --every at the rebuilt A"
kn "$T/a" log append --type test.after --body '{"rebuilt":true}'
expect_rc 0 "log append at the rebuilt A"
[[ $(seq_of a a) == $((A_TIP + 1)) ]] || fail "A's new entry is not seq $((A_TIP + 1))"
start a
wait_converged 30 "live sync after A's recovery" "${NODES[@]}"
kn "$T/h" report alerts --json
expect_rc 0 "report alerts at H"
reject_text '"fork"' "$OUT" "no fork alert at H"
same_digests "${NODES[@]}"
ok "A has H's clock, verifies, writes seq $((A_TIP + 1)) with no fork anywhere; H, A and B meet with one state digest"

# ---- 2. B's first page: too damaged to open ----
stop b TERM 10
[[ $STOP_RC == 0 ]] || fail "B exited with status $STOP_RC after SIGTERM"
B_TIP=$(seq_of h b)
damage "$T/b/kortnod.db" 1 100 200 >/dev/null
kn "$T/b" clock
expect_rc 1 "clock at B with its first page damaged"
expect_text "database file is damaged" "$ERR" "B cannot be opened: damaged"
ok "B with 200 bytes of its first page overwritten cannot be opened: '$ERR'"
kn "$T/b" recover
expect_rc 1 "recover at B without --role and --hub"
expect_text "--role hub.office.mobile --hub HUBID" "$ERR" "recover asks for the role and the hub"
expect_text "nothing was changed" "$ERR" "recover changed nothing"
[[ -z "$(compgen -G "$T/b/kortnod.db.damaged-*")" ]] || fail "recover moved B's file without --role and --hub"
ok "recover at B: exit 1, '$(tail -n 1 <<<"$ERR")'"
kn "$T/b" recover --role office --hub "${NID[h]}"
expect_rc 0 "recover --role office --hub at B"
while IFS= read -r line; do echo "# recover: $line"; done <<<"$OUT"
expect_text "^the database is damaged: so much that it cannot be opened" "$OUT" "recover says why"
expect_text "^recovered: own feed up to seq $B_TIP " "$OUT" "B's own feed fetched back from H"
same_clocks h b || fail "B's clock after recover is not H's
$(show_clocks h b)"
start b
append b 1 rebuilt
wait_converged 30 "live sync after B's recovery" "${NODES[@]}"
for x in "${NODES[@]}"; do
    stop "$x" TERM 10
done
verify_every "${NODES[@]}"
same_digests "${NODES[@]}"
ok "recover --role office --hub: B's log rebuilt from H, its own $B_TIP entries included; it writes again, and H, A and B end with one clock and one state digest ($VERIFIED entries, verified)"
