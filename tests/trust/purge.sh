#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Retention. Once a card's life has ended, the hub purges the holder's data of its order: every
# node that receives the purge deletes the sealed payload, and no node stores it again, while
# every header and chain stays verifiable (the header signs only the payload's hash). A node
# that joins later gets the entry without its payload and comes to the same state. An order
# whose card is still in its life cannot be purged.
# shellcheck source=tests/trust/lib.sh
source "$(dirname "$0")/lib.sh"

hub h
office s h
office r h
register h storuman
register h lycksele
enrol h s storuman
enrol h r lycksele
for o in o1 o2; do
    kn "$T/h" order place --order "$o" --office storuman --care-provider vc --card-type siths-e \
        --holder "Holder $o" --pnr "19700101-000${o#o}"
    expect_rc 0 "order place $o"
    kn "$T/h" card ship --order "$o" --serial "SN-$o" --rek "RR$o"
    expect_rc 0 "card ship $o"
done
kn "$T/h" card revoke --order o1 --reason employment-ended
expect_rc 0 "card revoke o1"
xfer h s
xfer h r
kn "$T/s" order holder --order o1
expect_rc 0 "s reads o1's holder before the purge"

kn "$T/h" order purge --order o2
expect_rc 1 "purge of an order whose card is in its life"
expect_text "life has not ended" "$ERR" "the refusal says why"
kn "$T/h" order purge --order o1
expect_rc 0 "purge of o1"
expect_text "purged the holder's data of order o1 \\(1 entry\\)" "$OUT" "purge says what it did"
ok "the hub purges the holder's data of a revoked card, not of one still in its life"

# held_payloads NAME - payloads NAME still holds of purged entries, and purged entries it knows.
held_payloads() {
    sqlite3 "$T/$1/kortnod.db" "SELECT (SELECT count(*) FROM payloads p JOIN purged g
        ON g.author = p.author AND g.seq = p.seq) || ' ' || (SELECT count(*) FROM purged)"
}
xfer h s
xfer s r
for n in h s r; do
    [[ "$(held_payloads "$n")" == "0 1" ]] || fail "$n: purged payloads held / purged: $(held_payloads "$n")"
    kn "$T/$n" log verify --every
    expect_rc 0 "log verify --every at $n after the purge"
done
kn "$T/s" order holder --order o1
expect_rc 1 "s reads o1's holder after the purge"
kn "$T/s" order holder --order o2
expect_rc 0 "s still reads o2's holder"
expect_text "Holder o2" "$OUT" "o2's holder"
ok "every node deleted the purged payload; every header and chain verifies; o2 is untouched"

# A node that joins later gets the entry without its payload, and the same state.
office n h
enrol h n storuman
xfer h n
xfer r n
[[ "$(held_payloads n)" == "0 1" ]] || fail "n: purged payloads held / purged: $(held_payloads n)"
kn "$T/n" log verify --every
expect_rc 0 "log verify --every at n"
xfer h s # the hub's enrolment of n, so that all hold the same entries
xfer h r
digest h
ref=$DIGEST
for x in s r n; do
    digest "$x"
    [[ "$DIGEST" == "$ref" ]] || fail "$x's state differs from the hub's after the purge"
done
# An old export still carrying the payload changes nothing: it is not stored again.
ok "a node joining later stores the header alone and comes to the same state"

# A reserve card's holder: purged once the card is returned, not before.
for a in adm-1 adm-2; do
    kn "$T/h" office admin-add --office storuman --admin "$a" --name "Administrator $a"
    expect_rc 0 "admin-add $a"
done
xfer h s
until=$(($(date +%s) * 1000 + 30 * 86400000))
kn "$T/s" reserve issue --reserve R1 --office storuman --holder "Reserve Holder" \
    --reason lost-card --valid-until-ms "$until" --receipt KV-1
expect_rc 0 "reserve issue at s"
xfer s h
kn "$T/h" reserve purge --reserve R1
expect_rc 1 "purge of a reserve card not returned"
expect_text "not returned" "$ERR" "the refusal says why"
kn "$T/s" reserve return --reserve R1
expect_rc 0 "reserve return at s"
xfer s h
kn "$T/h" reserve purge --reserve R1
expect_rc 0 "purge of the returned reserve card"
xfer h s
kn "$T/s" reserve holder --reserve R1
expect_rc 1 "the reserve holder after the purge"
[[ "$(held_payloads s)" == "0 2" ]] || fail "s: purged payloads held / purged: $(held_payloads s)"
kn "$T/s" log verify --every
expect_rc 0 "log verify --every at s after the reserve purge"
ok "a returned reserve card's holder is purged everywhere too; a card in use is not"

# Catching up across a purge over the network, with the purged entry and the purge more than
# one sync batch (512 entries) apart in the hub's feed: the sender passes the purge on ahead of
# the entry, and the newcomer stores the entry without its payload instead of refusing the peer.
GEN=${1:-}
[[ -x "$GEN" ]] || fail "no gen_entries helper given"
kn "$T/h" order place --order o3 --office storuman --care-provider vc --card-type siths-e \
    --holder "Holder o3"
expect_rc 0 "order place o3"
run "$GEN" "$T/h" 700 --type test.filler
expect_rc 0 "700 entries between the holder's entry and the purge"
kn "$T/h" card ship --order o3 --serial SN-o3 --rek RRo3
expect_rc 0 "card ship o3"
kn "$T/h" card revoke --order o3 --reason employment-ended
expect_rc 0 "card revoke o3"
kn "$T/h" order purge --order o3
expect_rc 0 "purge of o3"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$KORTNOD" --data "$T/h" run --listen "127.0.0.1:$port" --ui off >"$T/h.run.log" 2>&1 &
hpid=$!
trap 'kill $hpid 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$T/h.run.log" && break; sleep 0.05; done
kn "$T/late" init --role office --name late --hub "${NID[h]}" --network-key "$T/h/network.key"
expect_rc 0 "init late"
kn "$T/late" sync "127.0.0.1:$port" "${NID[h]}"
expect_rc 0 "a newcomer catches up with the hub over the network, across the purges"
[[ $(seq_at late h) == $(seq_at h h) ]] || fail "late holds the hub's feed up to $(seq_at late h), not $(seq_at h h)"
[[ "$(held_payloads late)" == "$(held_payloads h)" ]] ||
    fail "late: purged payloads held / purged: $(held_payloads late), the hub: $(held_payloads h)"
kn "$T/late" log verify --every
expect_rc 0 "log verify --every at late"
kill "$hpid"
wait "$hpid" || true
ok "a newcomer catches up over the network across purges a batch apart: headers only, all verified"
