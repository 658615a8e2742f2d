#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A link that alters bytes: the office A's daemon syncs with the hub H only through the fault
# proxy (faults/proxy.c), which flips one byte of a connection's stream at a random offset past
# the handshake, first A to H (up), then H to A (down), while the sender has a backlog of entries
# to send. Box-stream authenticates every frame: the receiving daemon logs "a frame that does not
# authenticate" and closes the connection; nothing corrupt is stored (`log verify --every`
# passes at both); once the proxy passes everything again, the daemons reconnect and converge.
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"

proxy_pair
ok "H and A meet through the proxy"

# corrupt DIR SENDER RECEIVER - flip one byte of the DIR stream between offsets 300 and 200,000
# (past the handshake's 176 bytes up and 144 down) while SENDER sends 3000 entries.
corrupt() {
    local dir=$1 sender=$2 receiver=$3 before line conn
    before=$(log_count "$receiver" 'a frame that does not authenticate; closing')
    proxy p corrupt "$dir" 300 200000
    run "$GEN_ENTRIES" "$T/$sender" 3000 --pad 400 --tx 500
    expect_rc 0 "gen_entries: 3000 entries at $sender"
    proxy_wait p "^corrupted [0-9]+ $dir at byte" 30
    line=$(tail -n "+$((PROXY_SEEN[p] + 1))" "$T/p.log" | grep -E -m 1 "^corrupted [0-9]+ $dir")
    conn=$(awk '{print $2}' <<<"$line")
    wait_count "$receiver" 'a frame that does not authenticate; closing' "$before" 10 \
        "$receiver detects the flipped byte"
    proxy_wait p "^closed $conn " 10
    check_alive h a
    proxy p pass
    wait_converged 60 "after the corruption $dir, passing everything" h a
    for x in h a; do
        kn "$T/$x" log verify --every
        expect_rc 0 "log verify --every at $x after the corruption $dir"
    done
    ok "corrupt $dir: ${line#corrupted }; $receiver logs 'a frame that does not authenticate' and closes; nothing corrupt is stored (log verify --every passes at both); once the proxy passes everything, they converge in $WAITED_MS ms"
}

corrupt up a h
corrupt down h a

append a 1 after
append h 1 after
wait_converged 10 "after the faults" h a
finish_pair
