#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A hub serves the whole country: offices stay connected in live mode, so it must take far more
# connections at once than an office does (docs/scale.md). 40 connections are held open at the
# hub (TCP only, no handshake yet); an office's `kortnod sync` must still be served. Before,
# the daemon took at most 16 connections, so the hub served only the first 16 offices.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/lib.sh"

new_hub hub
new_office kiruna hub
append hub 3 many
assign_ports hub
start hub
python3 - "${PORT[hub]}" "$T/held" <<'EOF2' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(40)]
open(sys.argv[2], "w").close()
time.sleep(8)
EOF2
STARTED+=("$!")
deadline=$(($(now_ms) + 5000))
until [[ -e "$T/held" ]]; do
    (($(now_ms) < deadline)) || fail "the 40 connections were not made"
    sleep 0.02
done
sync_cmd kiruna hub
expect_rc 0 "kortnod sync while 40 other connections are open at the hub"
[[ "$(seq_of kiruna hub)" == "$(seq_of hub hub)" ]] || fail "the office did not get the hub's feed"
! log_has hub "too many connections" || fail "the hub refused connections: $(grep -c 'too many' "$T/hub.log")"
ok "the hub serves an office while 40 other connections are open"
