#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A link that breaks: the office A's daemon syncs with the hub H only through the fault proxy
# (faults/proxy.c), while each end has a backlog of entries to send (gen_entries), and the proxy
#  - drops every connection at a random moment within 150 ms of its start;
#  - truncates the stream H to A (down), then A to H (up): each connection forwards a random
#    number of bytes of that direction, up to 200,000, then is closed in the middle of a frame.
# Each fault holds until it has struck a few times; then the proxy passes everything again, and
# the daemons (redialling on their own, with back-off) converge. At the end both logs verify and
# the two nodes have the same clock and state.
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"

proxy_pair
ok "H and A meet through the proxy"

# backlog NAME N - N entries of 400 payload bytes at NAME, written while its daemon runs.
backlog() {
    run "$GEN_ENTRIES" "$T/$1" "$2" --pad 400 --tx 500
    expect_rc 0 "gen_entries: $2 entries at $1"
}

# strike COMMAND PATTERN N ENTRIES WHAT - switch the proxy to COMMAND, give both ends a backlog
# of ENTRIES, and wait (30 s at most) until the proxy has printed N lines matching PATTERN; then
# pass everything again and wait for the daemons to converge.
strike() {
    local cmd=$1 pattern=$2 n=$3 entries=$4 what=$5 deadline hits h0 a0 crossed
    proxy p "$cmd"
    h0=$(seq_of a h)
    a0=$(seq_of h a)
    backlog h "$entries"
    backlog a "$entries"
    deadline=$(($(now_ms) + 30000))
    until (($(proxy_count p "$pattern") >= n)); do
        (($(now_ms) < deadline)) ||
            fail "$what: the proxy struck $(proxy_count p "$pattern") times in 30 s, not $n"
        check_alive h a
        sleep 0.05
    done
    hits=$(proxy_count p "$pattern")
    crossed="$(($(seq_of a h) - h0)) of H's and $(($(seq_of h a) - a0)) of A's"
    proxy p pass
    wait_converged 60 "$what, then passing everything" h a
    check_alive h a
    ok "$what: struck $hits times while each end had $entries new entries to send ($crossed had crossed); once it stops, they converge in $WAITED_MS ms"
}

strike "drop 150" '^dropped [0-9]+ after' 4 10000 "drop within 150 ms"
strike "truncate down 200000" '^truncated [0-9]+ down after' 2 3000 "truncate H to A"
strike "truncate up 200000" '^truncated [0-9]+ up after' 2 3000 "truncate A to H"

append a 1 after
append h 1 after
wait_converged 10 "after the faults" h a
finish_pair
