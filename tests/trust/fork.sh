#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A forked feed in a five-node network. An office's disk is copied; both copies write on from
# the same seq and sync with opposite ends of a line of five daemons (h - a - b - c - d). Where
# the two branches meet, the entry that links to the other branch proves the fork; the proof is
# gossiped to every node, and everywhere the feed stops at the entry before the fork: the same
# clock, the same state, a fork alert. The hub enrols a new key for the office; its entries flow
# again, and everything before the fork stays.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

new_hub h
for n in a b c d s; do new_office "$n" h; done
assign_ports h a b c d
peer a h
peer b a
peer c b
peer d c
for n in h a b c d; do start "$n"; done
NODES=(h a b c d)

# converge WHAT - wait until the five daemons hold the same clock (10 s).
converge() {
    local deadline=$(($(now_ms) + 10000))
    until same_clocks "${NODES[@]}"; do
        (($(now_ms) < deadline)) || fail "$1: the clocks differ after 10 s
$(show_clocks "${NODES[@]}")"
        sleep 0.1
    done
}

append s 2 before
sync_cmd s d
expect_rc 0 "s syncs with d"
converge "s's first entries"
ok "s's entries 1-2 reach all five nodes"

cp -a "$T/s" "$T/s2" # the copied disk
append s 3 branch-one  # seq 3, 4, 5 on one copy
append s2 2 branch-two # another seq 3 and 4 on the other
# The branches enter the line at opposite ends and meet somewhere in it. Where they meet, an
# entry links to another entry than the one held there: that proves a fork at the receiver's
# tip, seq 4 or so; the two nodes then compare their branches entry by entry and find where
# the copies really split, seq 3; every node ends up cutting the feed there.
sync_cmd s2 h
expect_rc 0 "s2 syncs with h"
sync_cmd s d
expect_rc 0 "s syncs with d (an entry that proves the fork is no sign of a bad peer)"
deadline=$(($(now_ms) + 15000))
for n in "${NODES[@]}"; do
    until kn "$T/$n" report alerts --json && grep -q 'signed two entries at seq 3 ' <<<"$OUT"; do
        (($(now_ms) < deadline)) || fail "$n has no fork alert at seq 3 after 15 s: $OUT"
        sleep 0.1
    done
done
converge "after the fork"
for n in "${NODES[@]}"; do
    [[ $(seq_of "$n" s) == 2 ]] || fail "$n offers s's feed beyond seq 2 (the split)"
done
kn "$T/h" state digest
ref=$OUT
for n in a b c d; do
    kn "$T/$n" state digest
    [[ "$OUT" == "$ref" ]] || fail "$n's state differs from the hub's after the fork"
done
ok "the fork is cut where the copies split, at every one of the five nodes: one clock, one state"

# The copy that wrote keeps its own feed forked: it refuses to write.
kn "$T/s" log append --type test.sync --body '{"n":9}'
sync_cmd s d
kn "$T/s" log append --type test.sync --body '{"n":10}'
expect_rc 1 "append at the forked office"

# The hub enrols a new key for the office: work goes on, and what came before the fork stays.
new_unenrolled s3 h
kn "$T/h" node enrol "${NID[s3]}" --role office --office s
expect_rc 0 "enrol a new key for office s"
append s3 1 new-key
sync_cmd s3 d
expect_rc 0 "s3 syncs with d"
for n in "${NODES[@]}"; do
    wait_seq "$n" s3 1 10 "$n holds the new key's entry"
done
converge "after the new key"
for n in "${NODES[@]}"; do
    [[ $(seq_of "$n" s) == 2 ]] || fail "$n lost s's entries from before the fork"
done
ok "a new key for the office: its entries reach every node; s's entries before the fork stay"
