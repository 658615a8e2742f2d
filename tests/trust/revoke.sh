#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Revocation of a lost laptop's key. What it wrote before the revocation stays valid (stored and
# applied everywhere); what it signs later is refused by the hub and by every node that knows of
# the revocation. A relay that stored the later entries before it heard of the revocation keeps
# them (the log is append-only) but neither applies them nor offers them: its clock and its state
# digest are the hub's. The laptop itself refuses to append once it knows.
# shellcheck source=tests/trust/lib.sh
source "$(dirname "$0")/lib.sh"

hub h
office m h mobile
office r h
register h storuman
enrol h m storuman mobile
enrol h r storuman
kn "$T/h" order place --order o1 --care-provider vc --holder "Holder" --office storuman \
    --card-type siths-e
expect_rc 0 "order place"
kn "$T/h" card ship --order o1 --serial SN-1 --rek RR1SE
expect_rc 0 "card ship"
xfer h m
xfer h r

# Before the loss: the laptop records the notice and the collection.
kn "$T/m" card notice --order o1
expect_rc 0 "card notice at m"
kn "$T/m" card collect --order o1
expect_rc 0 "card collect at m"
xfer m h
[[ $(seq_at h m) == 2 ]] || fail "the hub does not hold the laptop's 2 entries"

# The laptop is lost; the thief stores the card locked (seq 3) and the relay gets it first.
kn "$T/m" card store --order o1 --locked
expect_rc 0 "card store at m"
xfer m r
[[ $(seq_at r m) == 3 ]] || fail "the relay should hold the laptop's 3 entries before the revocation"

kn "$T/h" node revoke "${NID[m]}"
expect_rc 0 "node revoke"
expect_text 'revoked .* from seq 3 on' "$OUT" "revoke defaults to after what the hub holds"
ok "the hub revokes the laptop's key from seq 3 on"

# The hub refuses seq 3.
xfer m h
expect_text '1 entries refused: a key the hub revoked' "$OUT" "import at the hub says why"
[[ $(seq_at h m) == 2 ]] || fail "the hub stored an entry signed after the revocation"
kn "$T/h" report orders --json
py 'import json,sys; d={o["order_id"]:o for o in json.loads(sys.argv[1])}; assert d["o1"]["state"]=="collected", d'
ok "after the revocation the hub refuses what the key signs; the earlier steps stay applied"

# The relay learns of the revocation: it keeps seq 3 but neither applies nor offers it.
xfer h r
[[ $(seq_at r m) == 2 ]] || fail "the relay still offers the revoked entry (clock says $(seq_at r m))"
kn "$T/r" report orders --json
py 'import json,sys; d={o["order_id"]:o for o in json.loads(sys.argv[1])}; assert d["o1"]["state"]=="collected", d'
digest h
hd=$DIGEST
digest r
[[ "$DIGEST" == "$hd" ]] || fail "the relay's state differs from the hub's ($DIGEST vs $hd)"
kn "$T/r" export --out "$T/r2.bundle"
office x h
kn "$T/x" import "$T/r2.bundle"
expect_rc 0 "import of the relay's export"
[[ $(seq_at x m) == 2 ]] || fail "the relay's export carried the revoked entry on"
ok "a relay that stored the entry first drops it from its state and passes it on to nobody"

# The laptop, once it hears, refuses to append.
xfer h m
kn "$T/m" card store --order o1 --locked
expect_rc 1 "append at the revoked laptop"
expect_text 'revoked' "$ERR" "the laptop says its key was revoked"
ok "the revoked laptop refuses to write"
