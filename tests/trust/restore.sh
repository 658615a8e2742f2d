#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A restored backup. An office's data directory is put back to an older copy while the hub holds
# more of the office's own feed. When a peer shows the own feed beyond the database, the node
# refuses to write (writing would fork its feed) and says how to recover; `kortnod recover`
# fetches the own feed back from its peers, and then it writes again, with no fork anywhere.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

new_hub h
new_office s h
assign_ports h
start h
sync_cmd s h
expect_rc 0 "first sync of s"

append s 1 before-backup
cp -a "$T/s" "$T/s.backup" # the nightly backup: own feed at seq 1
append s 2 after-backup
sync_cmd s h
expect_rc 0 "sync of s's 3 entries"
[[ $(seq_in "$(clock_json h)" "${NID[s]}") == 3 ]] || fail "the hub does not hold s's 3 entries"
ok "s wrote 3 entries, the hub holds them; the backup holds 1"

# The disk dies; the backup is restored. Nothing in the database itself says so.
rm -rf "$T/s"
mv "$T/s.backup" "$T/s"
kn "$T/s" clock --json
[[ $(seq_in "$OUT" "${NID[s]}") == 1 ]] || fail "the restored s should hold its own seq 1 only"

# The hub shows the own feed at 3: s fetches seq 2 and 3 back (kortnod recover, with the peers
# of kortnod.conf) before it writes again.
kn "$T/s" peer add "127.0.0.1:${PORT[h]}" "${NID[h]}"
expect_rc 0 "peer add h at s"
kn "$T/s" recover
expect_rc 0 "kortnod recover"
expect_text 'own feed: seq 1 in this database' "$OUT" "recover says what it had"
expect_text 'recovered: own feed up to seq 3 \(2 fetched back\)' "$OUT" "recover says what it fetched"
append s 1 after-restore
sync_cmd s h
expect_rc 0 "sync after recovery"
[[ $(seq_in "$(clock_json h)" "${NID[s]}") == 4 ]] || fail "the hub does not hold s's seq 4"
kn "$T/h" log verify --every
expect_rc 0 "log verify at the hub"
kn "$T/h" report alerts --json
reject_text '"fork"' "$OUT" "no fork alert at the hub"
ok "kortnod recover fetches seq 2 and 3 back; s writes seq 4; no fork anywhere"
