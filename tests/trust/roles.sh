#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Roles and offices. An office node may never write a hub event (order.placed): its own node
# refuses to append it, and a node running other software under the same key gets it refused by
# every peer (not stored, not passed on). An office node writing a hand-over of another office's
# card: stored (the type is an office's) but never applied; `report conflicts` lists it invalid,
# and the card's state does not move.
# shellcheck source=tests/trust/lib.sh
source "$(dirname "$0")/lib.sh"

hub h
office s h
office a h
register h storuman
register h arjeplog
enrol h s storuman
enrol h a arjeplog
kn "$T/h" order place --order oa --care-provider vc --holder "Holder" --office arjeplog \
    --card-type siths-e
expect_rc 0 "order place"
kn "$T/h" card ship --order oa --serial SN-A --rek RR2SE
expect_rc 0 "card ship"
xfer h s
xfer h a

# ---- a hub event from an office ----
kn "$T/s" log append --type order.placed \
    --body '{"card_type":"siths-e","care_provider":"x","holder":"x","office":"storuman","order":"ox"}'
expect_rc 1 "an office appending order.placed"
expect_text "role may not write" "$ERR" "log append says why"
ok "an office node refuses to append a hub event"

# The same key in a node that does not know its hub (as modified software would): it appends.
kn "$T/evil" init --role office --name evil
expect_rc 0 "init evil"
cp "$T/s/node.key" "$T/evil/node.key"
chmod 600 "$T/evil/node.key"
kn "$T/evil" log append --type order.placed \
    --body '{"card_type":"siths-e","care_provider":"x","holder":"x","office":"storuman","order":"ox"}'
expect_rc 0 "append order.placed under s's key where nothing checks it"
kn "$T/evil" export --out "$T/evil.bundle"
expect_rc 0 "export at evil"
kn "$T/h" import "$T/evil.bundle"
expect_rc 0 "import at the hub"
expect_text '1 entries refused: a key the hub revoked, or a role' "$OUT" "the hub says why"
[[ $(seq_at h s) == 0 ]] || fail "the hub stored an order placed by an office"
kn "$T/h" report orders --json
py 'import json,sys; assert "ox" not in [o["order_id"] for o in json.loads(sys.argv[1])]'
ok "a hub event signed by an office key is refused by the hub: not stored, no order"

# ---- another office's hand-over ----
kn "$T/s" handover complete --order oa --serial SN-A --id-checked --right-person --pin-envelope
expect_rc 1 "handover of another office's card at s"
# As the office's software would write it: after the card's last step (dep on card.shipped).
shipped=$(seq_at s h)
kn "$T/s" log append --type handover.completed --dep "${NID[h]}:$shipped" \
    --body '{"id_checked":true,"order":"oa","pin_envelope":true,"right_person":true,"serial":"SN-A"}'
expect_rc 0 "log append of the hand-over at s (the log layer cannot know the order's office)"
xfer s h
[[ $(seq_at h s) == 1 ]] || fail "the hub did not store s's entry"
kn "$T/h" report conflicts --json
py 'import json,sys; d=json.loads(sys.argv[1]); x=[c for c in d if c["type"]=="handover.completed"]; assert len(x)==1 and x[0]["status"]=="invalid" and "arjeplog" in x[0]["reason"], d'
kn "$T/h" report orders --json
py 'import json,sys; d={o["order_id"]:o for o in json.loads(sys.argv[1])}; assert d["oa"]["state"]=="shipped", d'
ok "another office's hand-over: stored, not applied, listed as invalid; the card did not move"

# ---- a second machine of the hub ----
office h2 h
kn "$T/h" node enrol "${NID[h2]}" --role hub --office hub
expect_rc 0 "enrol a hub node"
xfer h h2
kn "$T/h2" order place --order oh --care-provider vc --office storuman --card-type siths-e
expect_rc 0 "a hub node places an order"
kn "$T/h2" log append --type node.bound \
    --body "{\"node\":\"${NID[s]}\",\"office\":\"arjeplog\",\"role\":\"office\"}"
expect_rc 1 "a hub node appending node.bound"
kn "$T/h2" node enrol "${NID[s]}" --role office --office arjeplog
expect_rc 1 "node enrol at a hub node"
expect_text 'only the hub enrols' "$ERR" "node enrol at a hub node says why"
xfer h2 h
kn "$T/h" report orders --json
py 'import json,sys; assert "oh" in [o["order_id"] for o in json.loads(sys.argv[1])]'
ok "a hub node writes what the hub writes, but only the hub's own key enrols"
