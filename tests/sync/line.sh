#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Entries pass through a node: A—B—C, where B dials A and C dials only B. Entries appended at A
# reach C, entries appended at C reach A (both through B, while all three run), and in the end
# the three clocks are identical and every log verifies.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/lib.sh"

new_hub a
new_office b a
new_office c a
assign_ports a b c
peer b a
peer c b
append a 2 before
append c 2 before
start a
start b
start c
wait_log b 'peer 127.0.0.1:[0-9]+: secure connection' 10 "B connects to A"
wait_log c 'peer 127.0.0.1:[0-9]+: secure connection' 10 "C connects to B"

# A's feed starts with the hub's enrolments of B and C (lib.sh: enrol): EA entries.
EA=${ENROLS[a]}
wait_seq c a $((EA + 2)) 10 "A's entries from before the start reach C through B"
wait_seq a c 2 10 "C's entries from before the start reach A through B"
ok "the entries held before the start cross the line both ways"

append a 3 live
t0=$(now_ms)
wait_seq c a $((EA + 5)) 10 "A's live entries reach C"
ok "3 entries appended at A while running reach C in $(($(now_ms) - t0)) ms"
append c 3 live
t0=$(now_ms)
wait_seq a c 5 10 "C's live entries reach A"
ok "3 entries appended at C while running reach A in $(($(now_ms) - t0)) ms"
append b 1 middle
wait_seq a b 1 10 "B's entry reaches A"
wait_seq c b 1 10 "B's entry reaches C"

deadline=$(($(now_ms) + 10000))
until same_clocks a b c; do
    (($(now_ms) < deadline)) || fail "the clocks still differ after 10 s
$(show_clocks a b c)"
    sleep 0.05
done
c=$(clock_json a)
declare -A want=([a]=$((EA + 5)) [b]=1 [c]=5)
for n in a b c; do
    [[ "$(seq_in "$c" "${NID[$n]}")" == "${want[$n]}" ]] || fail "the common clock is wrong: $c"
done
ok "A, B and C end with identical clocks (A $((EA + 5)), B 1, C 5)"
for n in a b c; do
    kn "$T/$n" log verify --every
    expect_rc 0 "log verify --every at $n"
    expect_text "ok, $((EA + 11)) entries checked" "$OUT" "$n holds $((EA + 11)) entries"
done
ok "every node holds the $((EA + 11)) entries (11 appended, $EA of the enrolments), every signature good"
for n in c b a; do
    stop "$n" TERM 5
    [[ "$STOP_RC" == 0 ]] || fail "$n exited with status $STOP_RC after SIGTERM"
done
ok "SIGTERM stops all three with status 0"
