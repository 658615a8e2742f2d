#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A slow link: the office A's daemon syncs with the hub H only through the fault proxy
# (faults/proxy.c), which
#  - delays every chunk 300 ms (plus up to 100 ms): an entry takes at least that long to cross,
#    each way, and a stream of entries written at both ends meanwhile arrives whole;
#  - throttles each direction to 40,000 bytes a second: a batch of 200 entries holding 100,000
#    payload bytes takes at least 2.5 s to cross, and arrives whole.
# Neither breaks anything: the nodes converge while the fault holds, and at the end both logs
# verify and the two nodes have the same clock and state.
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"

proxy_pair
ok "H and A meet through the proxy"

# crossing FROM TO SEQ - wait (20 s at most) until TO holds FROM's feed up to SEQ; the time it
# took, from before FROM's append, in CROSS_MS.
crossing() {
    wait_seq "$2" "$1" "$3" 20 "$1's entry $3 reaching $2"
    CROSS_MS=$(($(now_ms) - T0))
}

# ---- delay ----
proxy p delay 300 100
for dir in a:h h:a; do
    from=${dir%:*} to=${dir#*:}
    tip=$(seq_of "$from" "$from")
    T0=$(now_ms)
    append "$from" 1 delayed
    crossing "$from" "$to" $((tip + 1))
    ((CROSS_MS >= 300)) || fail "delay 300: $from's entry reached $to in $CROSS_MS ms, less than the delay"
    echo "# delay: $from's new entry reaches $to in $CROSS_MS ms"
done
# Both write on while the delay holds.
for i in 1 2 3 4 5 6 7 8 9 10; do
    append a 1 "delay-a-$i"
    append h 1 "delay-h-$i"
done
wait_converged 30 "writes at both ends under a 300 ms delay" h a
ok "delay 300+100 ms: an entry takes at least 300 ms to cross each way; 10 entries written at each end meanwhile arrive ($WAITED_MS ms after the last)"

# ---- throttle ----
proxy p throttle 40000
tip=$(seq_of h h)
T0=$(now_ms)
run "$GEN_ENTRIES" "$T/h" 200 --pad 500 --tx 200
expect_rc 0 "gen_entries: 200 entries at H"
crossing h a $((tip + 200))
((CROSS_MS >= 2500)) ||
    fail "throttle 40000 B/s: 200 entries of 500 payload bytes crossed in $CROSS_MS ms, faster than the throttle allows"
tip=$(seq_of a a)
T0=$(now_ms)
run "$GEN_ENTRIES" "$T/a" 200 --pad 500 --tx 200
expect_rc 0 "gen_entries: 200 entries at A"
crossing a h $((tip + 200))
((CROSS_MS >= 2500)) ||
    fail "throttle 40000 B/s: A's 200 entries of 500 payload bytes crossed in $CROSS_MS ms, faster than the throttle allows"
wait_converged 30 "under the throttle" h a
ok "throttle 40,000 B/s: 200 entries (100,000 payload bytes) take at least 2.5 s to cross each way ($CROSS_MS ms up), and arrive whole"

proxy p pass
append a 1 after
append h 1 after
wait_converged 10 "after the faults" h a
alive "${PROXY_PID[p]}" || fail "the proxy died"
finish_pair
