#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Enrolment. Entries of a key the hub has not enrolled are held by every node: not stored in the
# log, not passed on, not applied; `node list` shows them. When the enrolment arrives they are
# stored, passed on and applied. Offline enrolment: the hub writes everything it holds up to the
# enrolment to a file (node enrol --out) that a new office imports before it ever reaches the
# hub; the office can write at once, and its entries are then stored by a node that imports them
# with that file's entries.
# Only the hub enrols.
# shellcheck source=tests/trust/lib.sh
source "$(dirname "$0")/lib.sh"

hub h
office r h # a relay: enrolled
office a h # not enrolled (yet)
register h lycksele
register h arjeplog
enrol h r lycksele
xfer h r
xfer h a
ok "a hub, an enrolled relay, an office not enrolled yet"

# ---- an unknown key's entries are held ----
kn "$T/a" log append --type test.note --body '{"n":1}'
expect_rc 0 "append at a"
kn "$T/a" log append --type test.note --body '{"n":2}'
expect_rc 0 "append at a"
xfer a r
expect_text '2 entries of keys the hub has not enrolled are held' "$OUT" "import at r says why"
[[ $(seq_at r a) == 0 ]] || fail "r stored entries of a key the hub never enrolled"
kn "$T/r" node list --json
py 'import json,sys; d={x["node"]:x for x in json.loads(sys.argv[1])}; x=d[sys.argv[2]]; assert x["state"]=="held" and x["held"]==2, x' "${NID[a]}"
kn "$T/r" state digest
expect_rc 0 "state digest at r"
kn "$T/r" state rebuild
expect_text '2 waiting' "$ERR" "the held entries count as waiting"
ok "r holds a's 2 entries aside: not in its log, listed by node list, counted as waiting"

office s h
register h storuman
enrol h s storuman
xfer h s
xfer r s
[[ $(seq_at s a) == 0 ]] || fail "the relay passed on entries it held"
ok "the relay does not pass held entries on"

# ---- only the hub enrols ----
kn "$T/r" node enrol "${NID[a]}" --role office --office arjeplog
expect_rc 1 "node enrol at an office"
expect_text 'only the hub enrols' "$ERR" "node enrol at an office says why"
kn "$T/r" log append --type node.bound \
    --body "{\"node\":\"${NID[a]}\",\"office\":\"arjeplog\",\"role\":\"office\"}"
expect_rc 1 "an office appending node.bound"
expect_text 'role may not write' "$ERR" "log append node.bound at an office says why"
ok "an office cannot enrol a key, not even with log append"

# ---- the enrolment lets them in ----
kn "$T/h" node enrol "${NID[a]}" --role office --office arjeplog --out "$T/enrol-a.bundle"
expect_rc 0 "node enrol a --out"
expect_text 'wrote .*enrol-a.bundle' "$OUT" "node enrol --out names the file"
kn "$T/r" import "$T/enrol-a.bundle"
expect_rc 0 "import of the enrolment at r"
expect_text '2 held earlier were stored now' "$OUT" "the held entries are stored"
[[ $(seq_at r a) == 2 ]] || fail "r does not hold a's entries after the enrolment"
kn "$T/r" node list --json
py 'import json,sys; d={x["node"]:x for x in json.loads(sys.argv[1])}; x=d[sys.argv[2]]; assert x["state"]=="enrolled" and x["held"]==0 and x["office"]=="arjeplog", x' "${NID[a]}"
xfer r s
[[ $(seq_at s a) == 2 ]] || fail "the relay does not pass a's entries on after the enrolment"
ok "the enrolment arrives: r stores the 2 held entries and passes them on"

# ---- offline enrolment: a new office that never reached the hub ----
# The hub's newest applied entry is another node's (the enrolment depends on it).
kn "$T/r" catalogue add --entry cat-r1 --office lycksele --person "P Person" --unit "Unit 1"
expect_rc 0 "a catalogue entry at r"
xfer r h
office n h
register h nyby
kn "$T/h" office admin-add --office nyby --admin nyby-1 --name "Admin One"
expect_rc 0 "an administrator for nyby"
kn "$T/h" node enrol "${NID[n]}" --role office --office nyby --out "$T/enrol-n.bundle"
expect_rc 0 "node enrol n --out"
kn "$T/n" import "$T/enrol-n.bundle"
expect_rc 0 "the new office imports its enrolment file"
kn "$T/n" node list --json
py 'import json,sys; d={x["node"]:x for x in json.loads(sys.argv[1])}; assert d[sys.argv[2]]["state"]=="enrolled", d' "${NID[n]}"
kn "$T/n" catalogue add --entry cat-n1 --office nyby --person "N Person" --unit "Unit N"
expect_rc 0 "a card-domain step at n right after the enrolment file (its binding applied)"
kn "$T/n" log append --type test.note --body '{"n":1}'
expect_rc 0 "append at n"
office o h # an office that has seen nothing of the hub's feed yet
xfer n o
[[ $(seq_at o n) == 2 ]] || fail "o did not store n's entries with the enrolment in the same file"
ok "offline enrolment: n imports the hub's file, and its entries are stored wherever they go with it"
