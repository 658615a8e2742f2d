#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Addresses in the log: an office with `announce = HOST:PORT` writes a signed node.address entry;
# the laptop of the same office, which has only the hub configured, learns it from the log and
# dials the office directly. When the office moves, its new entry replaces the old address; when
# it stays unreachable past forget_after, the laptop forgets the address (also across a restart)
# until the office announces again. The hub and an office of another office do not dial it.
# (That a node may announce only its own address is tested in unit/test_lifecycle.c.)
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

short() {
    echo "${NID[$1]:0:8}"
}

new_hub hub
new_office o hub
new_office other hub
kn "$T/m" init --role mobile --name laptop --hub "${NID[hub]}" --network-key "$T/hub/network.key"
expect_rc 0 "init the laptop"
NID[m]=$OUT
kn "$T/hub" node enrol "${NID[m]}" --role mobile --office o
expect_rc 0 "enrol the laptop for office o"
assign_ports hub o other m o_moved
start hub
for x in o other m; do
    peer "$x" hub
done
echo "announce = 127.0.0.1:${PORT[o]}" >>"$T/o/kortnod.conf"
echo "forget_after = 6" >>"$T/m/kortnod.conf"

start o
wait_log o "announced this node's address 127.0.0.1:${PORT[o]} in the log" 15 "o announces"
start other
start m
wait_log m "learned the address 127.0.0.1:${PORT[o]} of node $(short o)… \(office\)" 30 \
    "the laptop learns o's address from the log"
wait_log m "peer 127.0.0.1:${PORT[o]}: secure connection with node $(short o)" 20 \
    "the laptop dials o directly"
ok "o's address went into the log; the laptop of the same office learned it and dialled o"

# Only the laptop: neither the hub nor the office of another office dials o.
sleep 1
for x in hub other; do
    ! log_has "$x" "learned the address 127.0.0.1:${PORT[o]}" || fail "$x learned o's address"
done
ok "the hub and another office's node do not dial o"

deadline=$(($(now_ms) + 5000))
until kn "$T/m" status && [[ "$OUT" =~ \(office,\ o\)\ +tcp\ +127\.0\.0\.1:${PORT[o]}\ +connected ]]; do
    (($(now_ms) < deadline)) || fail "the laptop's status does not show o connected: $OUT"
    sleep 0.2
done
ok "the laptop's status shows o by TCP at its announced address"

# o moves to another port: its new entry replaces the old address at the laptop.
stop o TERM 10
sed -i "s/^announce = .*/announce = 127.0.0.1:${PORT[o_moved]}/" "$T/o/kortnod.conf"
PORT[o]=${PORT[o_moved]}
start o
wait_log o "announced this node's address 127.0.0.1:${PORT[o]} in the log" 15 "o announces again"
wait_log m "node $(short o)… announced a new address instead of 127\.0\.0\.1:[0-9]+; forgetting" 30 \
    "the laptop replaces o's old address"
wait_log m "peer 127.0.0.1:${PORT[o]}: secure connection with node $(short o)" 30 \
    "the laptop dials o at its new address"
ok "o moved: the laptop dropped the old address and reached o at the new one"

# o goes away for good: after forget_after (6 s here) of failures the laptop forgets it.
stop o TERM 10
wait_log m "forgetting the address 127.0.0.1:${PORT[o]} of node $(short o)…: unreachable" 40 \
    "the laptop forgets the dead address"
deadline=$(($(now_ms) + 5000))
until kn "$T/m" status && [[ "$OUT" =~ address\ forgotten ]]; do
    (($(now_ms) < deadline)) || fail "the laptop's status does not say the address is forgotten: $OUT"
    sleep 0.2
done
stop m TERM 10
n=$(grep -c "learned the address 127.0.0.1:${PORT[o]}" "$T/m.log")
start m
sleep 2
((n == $(grep -c "learned the address 127.0.0.1:${PORT[o]}" "$T/m.log"))) ||
    fail "the laptop dials the forgotten address again after a restart"
ok "unreachable past forget_after: forgotten, and not dialled again after a restart"

# `announce` taken out of kortnod.conf: the node withdraws its address from the log.
sed -i '/^announce = /d' "$T/o/kortnod.conf"
start o
wait_log o "withdrew this node's address 127.0.0.1:${PORT[o]} from the log" 15 "o withdraws"
kn "$T/o" log show --author "${NID[o]}" --json
expect_rc 0 "log show at o"
python3 -c '
import json, sys
last = [e for e in json.loads(sys.argv[1]) if e["type"] == "node.address"][-1]
assert "addr" not in last["payload"], last
' "$OUT" || fail "o's last node.address still names an address: $OUT"
ok "without announce, o withdrew its address (a node.address with no addr)"

# o announces again: the laptop takes the address back (an announcement newer than its giving
# up). Then the hub revokes o: the laptop stops dialling it.
stop o TERM 10
echo "announce = 127.0.0.1:${PORT[o]}" >>"$T/o/kortnod.conf"
n=$(grep -c "learned the address 127.0.0.1:${PORT[o]} of node" "$T/m.log")
start o
wait_log o "announced this node's address 127.0.0.1:${PORT[o]} in the log" 15 "o announces again"
deadline=$(($(now_ms) + 30000))
until (($(grep -c "learned the address 127.0.0.1:${PORT[o]} of node" "$T/m.log") > n)); do
    (($(now_ms) < deadline)) || fail "the laptop does not take o's address back after a new announcement"
    sleep 0.1
done
ok "a new announcement brings a forgotten address back"
kn "$T/hub" node revoke "${NID[o]}"
expect_rc 0 "the hub revokes o"
wait_log m "node $(short o)… is no longer one to dial \(revoked, or of another office now\)" 30 \
    "the laptop drops the revoked node's address"
ok "o revoked: the laptop no longer dials its address"
