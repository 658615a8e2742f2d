#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A copied disk whose two copies wrote branches of the same length. Both reach the hub: the
# office first, the copy after. Their clocks show the same seq, so without more a node would
# send nothing and the hub would never see the copy's branch; the clock carries the hash of the
# entry at each feed's tip, and a node whose entry there differs sends its branch from that seq.
# The hub then holds the fork proof, alerts, and stops the feed before the fork. (Found by the
# simulator, tests/sim/README.md.)
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

new_hub h
new_office s h
assign_ports h
start h
append s 2 before
sync_cmd s h
expect_rc 0 "s syncs with h"
cp -a "$T/s" "$T/s2" # the copied disk
NID[s2]=${NID[s]}
append s 2 branch-one # seq 3 and 4 on one copy
append s2 2 branch-two # another seq 3 and 4 on the other
sync_cmd s h
expect_rc 0 "s syncs its branch with h"
[[ $(seq_of h s) == 4 ]] || fail "h holds s's feed up to $(seq_of h s), not 4"
sync_cmd s2 h
expect_rc 0 "the copy syncs its branch of the same length with h"
kn "$T/h" report alerts --json
expect_rc 0 "report alerts at h"
grep -q 'signed two entries at seq 3 ' <<<"$OUT" ||
    fail "h has no fork alert at seq 3 after both branches reached it: $OUT"
[[ $(seq_of h s) == 2 ]] || fail "h offers s's feed beyond seq 2 (the split): $(seq_of h s)"
ok "two branches of one length meet at the hub: a fork at seq 3, the feed offered up to 2"
