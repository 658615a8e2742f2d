#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A restored backup. An office's data directory is put back to an older copy while the hub holds
# more of the office's own feed. When a peer shows the own feed beyond the database, the node
# refuses to write (writing would fork its feed) and says how to recover, until it has fetched
# its own feed back: by itself when its daemon runs, or with `kortnod recover`. Then it writes
# again, with no fork anywhere.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"
[[ -x "$GEN_ENTRIES" ]] || fail "no gen_entries helper at '$GEN_ENTRIES'"

new_hub h
new_office s h
assign_ports h s
start h
append s 1 before-backup
cp -a "$T/s" "$T/s.backup"  # the nightly backup: own feed at seq 1
cp -a "$T/s" "$T/s.backup2" # and a second copy of it
N=40000
run "$GEN_ENTRIES" "$T/s" "$N" --pad 200 --tx 2000
expect_rc 0 "gen_entries at s"
TIP=$((N + 1))
sync_cmd s h
expect_rc 0 "sync of s's entries to the hub"
[[ $(seq_in "$(clock_json h)" "${NID[s]}") == "$TIP" ]] || fail "the hub does not hold s's $TIP entries"
ok "s wrote $TIP entries, the hub holds them; the backups hold 1"

# ---- the daemon: a peer shows the own feed ahead; writing is refused until it is back ----
rm -rf "$T/s"
cp -a "$T/s.backup2" "$T/s"
peer s h
start s
wait_log s "holds this node's own feed up to seq $TIP" 20 "s's daemon sees its own feed ahead"
kill -STOP "${DPID[h]}" # the link stalls mid-transfer
tip_now=$(seq_in "$(clock_json s)" "${NID[s]}")
((tip_now < TIP)) || fail "the transfer ended before it could be stalled (s holds $tip_now)"
kn "$T/s" log append --type test.sync --body '{"n":"while behind"}'
expect_rc 1 "append while the own feed is behind"
expect_text "restored backup|copied disk" "$ERR" "the refusal says why"
expect_text "kortnod recover" "$ERR" "the refusal says how to recover"
ok "with its own feed at $tip_now of $TIP, s refuses to write and says to recover"
kill -CONT "${DPID[h]}"
wait_log s "own feed fetched back up to seq $TIP" 60 "s's daemon fetches its own feed back"
kn "$T/s" log append --type test.sync --body '{"n":"after"}'
expect_rc 0 "append once the own feed is back"
stop s TERM 10
ok "the daemon fetches the own feed back by itself; then s writes again"

# ---- kortnod recover ----
rm -rf "$T/s"
mv "$T/s.backup" "$T/s"
kn "$T/s" clock --json
[[ $(seq_in "$OUT" "${NID[s]}") == 1 ]] || fail "the restored s should hold its own seq 1 only"
peer s h
# The hub holds the entry s wrote after the first recovery, if s's daemon pushed it before it
# stopped: what recover must fetch is whatever the hub holds.
HAVE=$(seq_in "$(clock_json h)" "${NID[s]}")
((HAVE >= TIP)) || fail "the hub holds s's feed up to $HAVE only"
kn "$T/s" recover
expect_rc 0 "kortnod recover"
expect_text 'own feed: seq 1 in this database' "$OUT" "recover says what it had"
expect_text "recovered: own feed up to seq $HAVE \\($((HAVE - 1)) fetched back\\)" "$OUT" \
    "recover says what it fetched"
append s 1 after-restore
sync_cmd s h
expect_rc 0 "sync after recovery"
[[ $(seq_in "$(clock_json h)" "${NID[s]}") == $((HAVE + 1)) ]] || fail "the hub does not hold s's newest entry"
kn "$T/h" log verify
expect_rc 0 "log verify at the hub"
kn "$T/h" report alerts --json
reject_text '"fork"' "$OUT" "no fork alert at the hub"
ok "kortnod recover fetches the own feed back; s writes again; no fork anywhere"
