#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# LAN discovery: two offices on one local network, with no internet and no configured peer,
# find each other by their announcements and sync both ways. The hub (off by default), an office
# with `lan = off` and a node of another network are not found; the stranger's packets are
# counted as ignored.
#
# The hosts are network namespaces made here (ip netns + veth, on one bridge), each daemon
# listening on its own address with the default configuration. Where namespaces cannot be made
# (not root, no ip, a container without the right), the same checks run on loopback with
# `lan = on` (broadcast on 127.255.255.255), and the test says so.
# shellcheck source=tests/field/lib.sh
source "$(dirname "$0")/lib.sh"

short() {
    echo "${NID[$1]:0:8}"
}

new_hub hub
new_office a hub
new_office b hub
new_office quiet hub
new_hub stranger
kn "$T/hub" order place --order A1 --care-provider region --office a --card-type siths-e
expect_rc 0 "order A1"
kn "$T/hub" order place --order B1 --care-provider region --office b --card-type siths-e
expect_rc 0 "order B1"
for o in A1 B1; do
    kn "$T/hub" card ship --order $o --serial "SN-$o" --rek "RR-$o"
    expect_rc 0 "card ship $o"
done
# The offices got their start by stick: the hub's feed, nothing of each other.
kn "$T/hub" bundle export --all --out "$T/start.knb"
expect_rc 0 "the hub's bundle"
for x in a b quiet; do
    kn "$T/$x" bundle import "$T/start.knb"
    expect_rc 0 "bundle import at $x"
done
echo "lan = off" >>"$T/quiet/kortnod.conf"

if netns_make hub a b quiet stranger; then
    MODE=netns
    echo "# LAN: five hosts in network namespaces on one bridge (10.71.0.0/24), default settings"
else
    MODE=loopback
    echo "# LAN: network namespaces cannot be made here ($WHY): testing on loopback instead," \
        "with lan = on (broadcast on 127.255.255.255); the multicast path is not exercised"
    assign_ports hub a b quiet stranger
    for x in a b stranger; do
        echo "lan = on" >>"$T/$x/kortnod.conf"
    done
fi
# The stranger's network turns it on, so that its packets are there to be ignored.
[[ $MODE == netns ]] && echo "lan = on" >>"$T/stranger/kortnod.conf"

t0=$(now_ms)
for x in hub quiet stranger a b; do
    begin "$x"
done
wait_log a "LAN: found node $(short b)… \(office\)" 10 "a finds b"
wait_log b "LAN: found node $(short a)… \(office\)" 10 "b finds a"
found_ms=$(($(now_ms) - t0))
for x in a b; do
    log_has "$x" "LAN discovery on" || fail "$x: LAN discovery is not on"
done
log_has hub "LAN discovery off \(the hub" || fail "the hub's LAN discovery is not off by default"
log_has quiet "LAN discovery off \(lan = off\)" || fail "quiet: lan = off is not obeyed"
a_ms=$(sed -n 's/.*LAN: found node [0-9a-f]*… (office) at [0-9.:]*, \([0-9]*\) ms after start.*/\1/p' "$T/a.log" | head -1)
b_ms=$(sed -n 's/.*LAN: found node [0-9a-f]*… (office) at [0-9.:]*, \([0-9]*\) ms after start.*/\1/p' "$T/b.log" | head -1)
ok "a and b found each other ($MODE): a after ${a_ms} ms, b after ${b_ms} ms of its start (${found_ms} ms for all five daemons)"

# Both ways over the LAN, with no configured peer at all.
kn "$T/a" card notice --order A1
expect_rc 0 "a records a notice"
kn "$T/b" card notice --order B1
expect_rc 0 "b records a notice"
wait_seq b a "$(seq_of a a)" 15 "a's notice reaches b over the LAN"
wait_seq a b "$(seq_of b b)" 15 "b's notice reaches a over the LAN"
same_clocks a b || fail "a and b hold different clocks: $(show_clocks a b)"
kn "$T/a" state digest
da=$OUT
kn "$T/b" state digest
[[ "$OUT" == "$da" ]] || fail "a and b hold different states"
ok "entries went both ways over the LAN; a and b hold the same clock and state"

# Nobody else was found; the stranger's announcements were heard and ignored.
for x in hub quiet stranger; do
    for y in a b; do
        ! log_has "$y" "found node $(short "$x")" || fail "$y found $x on the LAN"
    done
done
wait_log a "." 1 "a's log"
deadline=$(($(now_ms) + 15000))
until python3 - "$T/a/status.json" <<'EOF'; do
import json, sys
lan = json.load(open(sys.argv[1]))["lan"]
sys.exit(0 if lan["on"] and lan["found"] == 1 and lan["ignored"] >= 1 else 1)
EOF
    (($(now_ms) < deadline)) || fail "a's status.json does not show 1 found and the stranger ignored: $(cat "$T/a/status.json")"
    sleep 0.2
done
ok "the hub (off by default), quiet (lan = off) and the other network's node were not found; the stranger's packets were ignored"

# status.json is written at once when a link opens or closes, and every second.
deadline=$(($(now_ms) + 5000))
until kn "$T/a" status && [[ $RC == 0 && "$OUT" =~ \(office,\ b\)\ +lan\ .*\ connected.*\ 0\ waiting ]]; do
    (($(now_ms) < deadline)) || break
    sleep 0.2
done
expect_rc 0 "status at a"
expect_text "node $(short b)… \(office, b\) +lan .*connected" "$OUT" "a's status"
expect_text "LAN discovery: on" "$OUT" "a's status"
kn "$T/a" status --json
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
rows = [p for p in d["peers"] if p["node"] == sys.argv[2] and p["path"] == "lan"]
assert rows and rows[0]["connected"] and rows[0]["last_sync_ms"] > 0 and rows[0]["waiting"] == 0, d
' "$OUT" "${NID[b]}" || fail "a's status --json: $OUT; status.json: $(cat "$T/a/status.json"); now $(now_ms)"
ok "kortnod status shows b by the LAN path, connected, nothing waiting"

# b goes away: a stops hearing it and says so.
stop b TERM 10
wait_log a "LAN: node $(short b)… at .* is no longer heard" 40 "a notices b is gone"
ok "b stopped: a says it is no longer heard"
