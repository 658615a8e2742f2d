#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Field operations end to end: a hub, three offices and one mobile administrator's laptop.
# o1 and o2 are online (TCP to the hub). o3 is never online: its orders reach it only through
# the laptop (store and forward, found on o3's local network) and its hand-overs reach the hub
# only through the laptop and a bundle sent by post; the hub's answer goes back by bundle too.
# In the end every node holds the same log and the same state, and `kortnod status` shows each
# path: o3 knows the hub only by bundle, the hub knows o3 only by bundle, and both know the
# laptop. o3 and the laptop meet on loopback (lan = on): one machine plays every host here
# (tests/field/lan.sh tests discovery between hosts).
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

short() {
    echo "${NID[$1]:0:8}"
}

# order_state NODE ORDER - the order's state as NODE's projection says.
order_state() {
    kn "$T/$1" report orders --json
    expect_rc 0 "report orders at $1"
    python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
print(next((r.get("state", "") for r in rows if r.get("order_id") == sys.argv[2]), "absent"))
' "$OUT" "$2"
}

# wait_state NODE ORDER STATE SECONDS WHAT
wait_state() {
    local deadline=$(($(now_ms) + $4 * 1000)) s
    until s=$(order_state "$1" "$2") && [[ "$s" == "$3" ]]; do
        (($(now_ms) < deadline)) || fail "$5: $2 is '$s' at $1, not '$3', after $4 s"
        sleep 0.1
    done
}

# converged NAME... - equal clocks and equal state digests everywhere, within 30 s.
converged() {
    local deadline=$(($(now_ms) + 30000)) d first x
    until same_clocks "$@"; do
        (($(now_ms) < deadline)) || fail "clocks differ after 30 s:
$(show_clocks "$@")"
        sleep 0.1
    done
    for x in "$@"; do
        deadline=$(($(now_ms) + 10000))
        while :; do
            kn "$T/$x" state digest
            expect_rc 0 "state digest at $x"
            d=$OUT
            [[ -z "${first:-}" || "$d" == "$first" ]] && break
            (($(now_ms) < deadline)) || fail "state digest of $x differs: $d, not $first"
            sleep 0.2
        done
        first=${first:-$d}
    done
    DIGEST=$first
}

# ---- the network ----
new_hub hub
new_office o1 hub
new_office o2 hub
new_office o3 hub
kn "$T/m" init --role mobile --name laptop --hub "${NID[hub]}" --network-key "$T/hub/network.key"
expect_rc 0 "init the laptop"
NID[m]=$OUT
kn "$T/hub" node enrol "${NID[m]}" --role mobile --office o3
expect_rc 0 "enrol the laptop for o3"

for x in o1 o2 o3; do
    for a in 1 2; do
        kn "$T/hub" office admin-add --office "$x" --admin "$x-admin$a" --name "Admin $a of $x"
        expect_rc 0 "admin $a of $x"
    done
done

declare -A OFFICE=([C1]=o3 [C2]=o3 [C3]=o3 [D1]=o1 [E1]=o2)
for o in C1 C2 C3 D1 E1; do
    kn "$T/hub" order place --order "$o" --care-provider region --office "${OFFICE[$o]}" \
        --card-type siths-e
    expect_rc 0 "order $o"
    kn "$T/hub" card ship --order "$o" --serial "SN-$o" --rek "RR-$o"
    expect_rc 0 "card ship $o"
done

assign_ports hub o1 o2 o3 m
start hub
for x in o1 o2; do
    peer "$x" hub
    start "$x"
done

# o1 and o2 work online.
for x in o1 o2; do
    o=$([[ $x == o1 ]] && echo D1 || echo E1)
    wait_state "$x" "$o" shipped 20 "$o reaches $x over TCP"
    for s in notice collect store; do
        kn "$T/$x" card "$s" --order "$o" $([[ $s == store ]] && echo --locked)
        expect_rc 0 "card $s $o at $x"
    done
    kn "$T/$x" handover complete --order "$o" --serial "SN-$o" --id-checked --right-person \
        --pin-envelope
    expect_rc 0 "hand-over of $o at $x"
done
wait_state hub D1 handed-over 20 "o1's hand-over reaches the hub"
wait_state hub E1 handed-over 20 "o2's hand-over reaches the hub"
ok "o1 and o2 online: their hand-overs reached the hub over TCP"

# ---- the laptop at the hub's office: it picks up everything ----
peer m hub
start m
wait_seq m hub "$(seq_of hub hub)" 20 "the laptop fetches the hub's feed"
stop m TERM 10
mv "$T/m/kortnod.conf" "$T/m/kortnod.conf.hq"
[[ "$(order_state o3 C1)" == absent ]] || fail "o3 knows C1 before anyone brought it"
ok "the laptop holds the hub's orders for o3; o3 has nothing yet"

# ---- the laptop drives to o3: no internet there, only the office's local network ----
echo "lan = on" >"$T/m/kortnod.conf"
echo "lan = on" >>"$T/o3/kortnod.conf"
start o3
start m
wait_log o3 "LAN: found node $(short m)… \(mobile\)" 15 "o3 finds the laptop"
wait_state o3 C3 shipped 20 "the orders reach o3 through the laptop"
for o in C1 C2 C3; do
    for s in notice collect; do
        kn "$T/o3" card "$s" --order "$o"
        expect_rc 0 "card $s $o at o3"
    done
    kn "$T/o3" card store --order "$o" --locked
    expect_rc 0 "card store $o at o3"
done
for o in C1 C2; do
    kn "$T/o3" handover complete --order "$o" --serial "SN-$o" --id-checked --right-person \
        --pin-envelope
    expect_rc 0 "hand-over of $o at o3"
done
wait_seq m o3 "$(seq_of o3 o3)" 20 "o3's hand-overs reach the laptop"
kn "$T/o3" status
expect_rc 0 "status at o3"
expect_text "node $(short m)… \(mobile, o3\) +lan .*connected" "$OUT" "o3's status while the laptop is there"
expect_text "hub: never in contact with this node" "$OUT" "o3's status"
stop m TERM 10
ok "at o3: the laptop brought the orders over the LAN and took back two hand-overs; o3 has never seen the hub"

# ---- back at the hub's office: the laptop passes o3's hand-overs on ----
mv "$T/m/kortnod.conf.hq" "$T/m/kortnod.conf"
start m
wait_state hub C1 handed-over 20 "C1's hand-over reaches the hub through the laptop"
wait_state hub C2 handed-over 20 "C2's hand-over reaches the hub through the laptop"
[[ "$(order_state hub C3)" == stored ]] || fail "C3 is '$(order_state hub C3)' at the hub, not stored"
ok "the hub got o3's hand-overs of C1 and C2 from the laptop (store and forward)"

# ---- the last card is handed over after the laptop left: by post ----
kn "$T/o3" handover complete --order C3 --serial SN-C3 --id-checked --right-person --pin-envelope
expect_rc 0 "hand-over of C3 at o3"
kn "$T/hub" clock --out "$T/post/hub.clock"
expect_rc 1 "clock --out into a missing directory"
mkdir -p "$T/post"
kn "$T/hub" clock --out "$T/post/hub.clock"
expect_rc 0 "the hub's clock for the post"
kn "$T/o3" bundle export --for "$T/post/hub.clock" --out "$T/post/o3-to-hub.knb"
expect_rc 0 "o3's bundle for the hub, made while o3's daemon runs"
kn "$T/hub" bundle import "$T/post/o3-to-hub.knb"
expect_rc 0 "the hub imports o3's bundle while its daemon runs"
expect_text "made by node $(short o3)…" "$OUT" "bundle import at the hub"
wait_state hub C3 handed-over 5 "C3's hand-over reaches the hub by post"
# The hub's answer: everything o3 lacks, o1's and o2's entries too.
kn "$T/o3" clock --out "$T/post/o3.clock"
expect_rc 0 "o3's clock for the post"
kn "$T/hub" bundle export --for "$T/post/o3.clock" --out "$T/post/hub-to-o3.knb"
expect_rc 0 "the hub's bundle for o3"
kn "$T/o3" bundle import "$T/post/hub-to-o3.knb"
expect_rc 0 "o3 imports the hub's bundle while its daemon runs"
ok "C3's hand-over went to the hub by post; the hub's answer came back the same way"

# ---- everyone agrees ----
converged hub o1 o2 o3 m
ok "hub, o1, o2, o3 and the laptop hold the same log and state digest ${DIGEST:0:16}…"
for x in hub o1 o2 o3 m; do
    for o in C1 C2 C3 D1 E1; do
        [[ "$(order_state "$x" "$o")" == handed-over ]] || fail "$o is not handed over at $x"
    done
done
ok "every node sees all five cards handed over"

# ---- what each node says of its paths ----
kn "$T/o3" status --json
expect_rc 0 "status --json at o3"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
hub, m = sys.argv[2], sys.argv[3]
paths = {(p["node"], p["path"]) for p in d["peers"]}
assert (hub, "bundle") in paths and (hub, "tcp") not in paths and (hub, "lan") not in paths, paths
assert (m, "lan") in paths, paths
assert d["hub"]["path"] == "bundle" and d["hub"]["waiting"] == 0, d["hub"]
' "$OUT" "${NID[hub]}" "${NID[m]}" || fail "o3's status: $OUT"
kn "$T/o3" status
expect_text "hub: not connected; last contact .* \(bundle\); 0 entries waiting for the hub" "$OUT" "o3's status"
ok "o3's status: the hub only by bundle, nothing waiting for it; the laptop by LAN"
kn "$T/hub" status --json
expect_rc 0 "status --json at the hub"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
o3, m = sys.argv[2], sys.argv[3]
paths = {(p["node"], p["path"]) for p in d["peers"]}
assert (o3, "bundle") in paths and not {(o3, "tcp"), (o3, "lan")} & paths, paths
assert (m, "tcp") in paths, paths
' "$OUT" "${NID[o3]}" "${NID[m]}" || fail "the hub's status: $OUT"
ok "the hub's status: o3 only by bundle, the laptop by TCP"
for x in hub o1 o2 o3 m; do
    ls "$T/$x"/.bundle-* >/dev/null 2>&1 && fail "a plain temporary file was left at $x"
done
true
