#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The reader in the daemon, on the real pcscd with the virtual card:
#  - without pcscd the commands say so clearly, and the daemon starts, says so once, and syncs;
#  - pcscd started later: the daemon finds it and its readers by itself;
#  - a card inserted: identified, matched to its order, shown by `reader status` (the live state
#    in status.json, without the HSA-id);
#  - a card that is slow to answer does not stop the daemon from syncing (the reader thread
#    blocks, the loop does not);
#  - pcscd stopped and started again while the daemon runs: readers and card go and come back;
#  - SIGTERM while a card stalls: the daemon still stops within seconds.
set -euo pipefail
# shellcheck source=tests/reader/lib.sh
source "$(dirname "$0")/lib.sh"

# wait_count NAME PATTERN N SECONDS WHAT - wait until NAME's log has N lines matching PATTERN.
wait_count() {
    local deadline=$(($(now_ms) + $4 * 1000))
    until (($(grep -Ec -- "$2" "$T/$1.log" || true) >= $3)); do
        alive "${DPID[$1]}" || fail "$5: the daemon of $1 exited"
        (($(now_ms) < deadline)) ||
            fail "$5: fewer than $3 lines /$2/ in $1's log within $4 s"
        sleep 0.05
    done
}

reader_setup
pcscd_stop

kn "$T/none" reader list
expect_rc 1 "reader list without pcscd"
expect_text "the smart card service \(pcscd\) is not running" "$ERR" "reader list without pcscd"
kn "$T/none" reader read
expect_rc 1 "reader read without pcscd"
expect_text "not running" "$ERR" "reader read without pcscd"
ok "no pcscd: reader list and reader read say the smart card service is not running"

kiruna_card_stored

assign_ports hub kiruna
start hub
peer kiruna hub
start kiruna
wait_log kiruna "card readers: the smart card service \(pcscd\) is not running" 10 \
    "the daemon without pcscd"
kn "$T/kiruna" reader status
expect_rc 0 "reader status"
expect_text "smart card service: down" "$OUT" "reader status without pcscd"
append hub 2 "while pcscd is away"
wait_seq kiruna hub "$(seq_of hub hub)" 10 "sync without pcscd"
ok "daemon without pcscd: says so once, and syncs ($WAITED_MS ms)"
(($(grep -c "is not running" "$T/kiruna.log") == 1)) ||
    fail "the daemon repeats that pcscd is not running"

pcscd_start
wait_log kiruna "card readers: the smart card service answers" 10 "pcscd started later"
wait_log kiruna "card reader added: $READER0" 10 "the readers of a pcscd started later"
ok "pcscd started later: found with its readers"

make_cert "Anna Test" SE2321000016-TEST1
vcard_start --cert "$CERT" --cplc "$(cplc_hex "$CHIP")"
vcard_do insert
wait_log kiruna "card inserted in $READER0: chip $CHIP, read in [0-9]+ ms: matches order A1" 10 \
    "the daemon identifies the card"
kn "$T/kiruna" reader status --json
expect_rc 0 "reader status --json"
py 'import json,sys
d = json.loads(sys.argv[1])
assert d["daemon_running"] and d["reader"]["service"] == "up", d
r = {x["name"]: x for x in d["reader"]["readers"]}
c = r["'"$READER0"'"]["card"]
assert c["chip"] == "'"$CHIP"'" and c["order"] == "A1" and c["matches"] is True, c
assert r["'"$READER1"'"]["card"] is None, r'
kn "$T/kiruna" reader status
expect_text "$READER0: card inserted: chip $CHIP, matches order A1" "$OUT" "reader status text"
! grep -q SE2321000016 "$T/kiruna/status.json" || fail "status.json holds the HSA-id"
ok "card inserted: the daemon shows 'matches order A1' in reader status (no HSA-id in status.json)"

vcard_do remove
wait_count kiruna "card removed from $READER0" 1 10 "removal seen by the daemon"
vcard_do mode stall 400
vcard_do insert
vcard_wait '^apdu' 10
before=$(seq_of hub hub)
t0=$(now_ms)
append hub 3 "while the card stalls"
wait_seq kiruna hub $((before + 3)) 3 "sync while the reader thread waits for a stalled card"
synced=$(($(now_ms) - t0))
(($(grep -c "card inserted in" "$T/kiruna.log") == 1)) ||
    fail "the stalled card was read before the entries arrived: the test proves nothing"
wait_count kiruna "card inserted in $READER0" 2 30 "the stalled card is read in the end"
ok "a card that takes 400 ms per answer: entries still arrive in $synced ms while it is read"
vcard_do mode normal

pcscd_stop
wait_count kiruna "card removed from $READER0" 2 10 "pcscd stopped: the card goes"
wait_log kiruna "card reader removed: $READER0" 10 "pcscd stopped: the readers go"
wait_count kiruna "is not running" 2 10 "pcscd stopped: said"
append hub 1 "while pcscd is stopped"
wait_seq kiruna hub "$(seq_of hub hub)" 10 "sync while pcscd is stopped"
kn "$T/kiruna" reader status
expect_text "smart card service: down" "$OUT" "reader status, pcscd stopped"
ok "pcscd stopped under the daemon: card and readers gone, sync goes on"

pcscd_start
wait_count kiruna "the smart card service answers" 2 10 "pcscd back"
vcard_wait '^removed' 5
vcard_do insert
wait_count kiruna "card inserted in $READER0: chip $CHIP" 3 15 "the card after pcscd came back"
ok "pcscd started again: readers back, the card identified again"

vcard_do remove
wait_count kiruna "card removed from $READER0" 3 10 "removal"
vcard_do mode stall 20000
vcard_do insert
sleep 1
stop kiruna TERM 10
((STOP_RC == 0)) || fail "the daemon exited with $STOP_RC"
((STOP_MS < 6000)) || fail "the daemon took $STOP_MS ms to stop while a card stalls"
ok "SIGTERM while the reader waits for a stalled card: stopped in $STOP_MS ms, status 0"
