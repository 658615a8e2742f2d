#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A card's whole life across three real nodes: a hub and two offices, Storuman (an organisation
# office: it needs two administrators) and Arjeplog (a private administrator). Entries move only
# as files: `clock --json`, `export --since`, `import` (hub -> offices, offices -> hub, and office
# -> office through the hub). The script keeps its own model of what it did (the state of every
# order, every meeting) and derives the expected stock, invoice and alert figures from it; then it
# checks that the three nodes agree on one state digest, and that a hand-over done at an office
# while the hub revoked the same card ends as exactly one listed conflict on every node.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

HUB="$T/hub" STO="$T/storuman" ARJ="$T/arjeplog"
RUN_START=$(date -u +%s) # every entry of this test is stamped after this instant

# ---- helpers ----

# step NODE ARGS... - a card-domain step that must be recorded.
step() {
    local node=$1
    shift
    kn "$node" "$@"
    expect_rc 0 "$(basename "$node"): $*"
    expect_text ' recorded \(seq [0-9]+\)$' "$OUT" "$(basename "$node"): $*"
}

# refused NODE PATTERN ARGS... - a step the rules refuse: exit 1, 'refused: ...' matching PATTERN,
# and nothing written (the node's own feed does not move).
refused() {
    local node=$1 pattern=$2 self before after
    shift 2
    kn "$node" id
    self=$OUT
    before=$(clock_seq "$node" "$self")
    kn "$node" "$@"
    expect_rc 1 "$(basename "$node") must refuse: $*"
    expect_text "refused: .*($pattern)" "$ERR" "$(basename "$node") refuses: $*"
    after=$(clock_seq "$node" "$self")
    [[ "$before" == "$after" ]] ||
        fail "$(basename "$node") refused '$*' but its feed moved from $before to $after"
}

# send SRC DST - SRC exports what DST's clock lacks; DST imports it. Prints the entries sent.
SENT=0
send() {
    local src=$1 dst=$2 name
    name="$(basename "$src")-to-$(basename "$dst")"
    kn "$dst" clock --json
    expect_rc 0 "clock --json of $(basename "$dst")"
    printf '%s\n' "$OUT" >"$T/$name.clock.json"
    kn "$src" export --out "$T/$name.kbundle" --since "$T/$name.clock.json"
    expect_rc 0 "export $name"
    SENT=$(sed -n 's/^exported \([0-9]*\) entr.*/\1/p' <<<"$OUT")
    [[ -n "$SENT" ]] || fail "export $name printed no count: $OUT"
    kn "$dst" import "$T/$name.kbundle"
    expect_rc 0 "import $name"
    expect_text "(^|[^0-9])$SENT new, 0 already held, 0 refused" "$OUT" "import $name"
    expect_text '^state: [0-9]+ entries applied' "$OUT" "import $name applies the entries"
}

# round - offices to the hub, then the hub to the offices: afterwards all three hold the same.
round() {
    send "$ARJ" "$HUB"
    send "$STO" "$HUB"
    send "$HUB" "$ARJ"
    send "$HUB" "$STO"
}

digest() {
    kn "$1" state digest
    expect_rc 0 "state digest of $(basename "$1")"
    [[ "$OUT" =~ ^[0-9a-f]{64}$ ]] || fail "state digest of $(basename "$1") printed '$OUT'"
    printf '%s' "$OUT"
}

# same_digest WHAT - the three nodes' state digests are equal.
same_digest() {
    local h s a
    h=$(digest "$HUB")
    s=$(digest "$STO")
    a=$(digest "$ARJ")
    [[ "$h" == "$s" && "$h" == "$a" ]] || fail "$1: the digests differ:
  hub      $h
  storuman $s
  arjeplog $a"
    ok "$1: hub, Storuman and Arjeplog have state digest ${h:0:16}..."
}

# py CODE [ARGS...] - run python3 CODE with the last stdout as sys.argv[1]; a failed assert
# fails the test with its message.
py() {
    local code=$1 msg
    shift
    if ! msg=$(python3 -c "$code" "$OUT" "$@" 2>&1); then
        fail "$msg
--- output:
$OUT"
    fi
    [[ -z "$msg" ]] || printf '%s\n' "$msg"
}

# ---- the model: what this script did, from which every expected figure is derived ----

declare -A STATE PROVIDER OFFICE_OF SERIAL KIND
MEETINGS=() # "order result reason", in the order they happened
KIND[storuman]=organisation
KIND[arjeplog]=private

model_json() {
    local o first=1
    printf '{"offices":{"storuman":"%s","arjeplog":"%s"},"orders":{' "${KIND[storuman]}" \
        "${KIND[arjeplog]}"
    for o in "${!STATE[@]}"; do
        ((first)) || printf ','
        first=0
        printf '"%s":{"state":"%s","provider":"%s","office":"%s"}' "$o" "${STATE[$o]}" \
            "${PROVIDER[$o]}" "${OFFICE_OF[$o]}"
    done
    printf '},"meetings":['
    first=1
    for m in "${MEETINGS[@]}"; do
        read -r o res why <<<"$m"
        ((first)) || printf ','
        first=0
        printf '{"order":"%s","result":"%s","reason":"%s"}' "$o" "$res" "${why:-}"
    done
    printf ']}\n'
}

# ---- the nodes ----

new_node "$HUB" hub
HUBID=$ID
kn "$STO" init --role office --hub "$HUBID" --name Storuman
expect_rc 0 "init Storuman --hub"
STOID=$OUT
kn "$ARJ" init --role office --hub "$HUBID" --name Arjeplog
expect_rc 0 "init Arjeplog --hub"
ARJID=$OUT
[[ "$STOID" =~ ^[0-9a-f]{64}$ && "$ARJID" =~ ^[0-9a-f]{64}$ ]] || fail "office ids: $STOID $ARJID"
ok "a hub and two offices that know it"

# ---- the hub registers the offices ----

step "$HUB" office register --office storuman --kind organisation --name "Storumans vårdcentral" \
    --town Storuman --place "Blå vägen 12" --booking "0951-123 45" --days mon,wed,fri
step "$HUB" office register --office arjeplog --kind private --name "Kortombud Arjeplog" \
    --town Arjeplog --place "Storgatan 3" --booking "https://arjeplog.example/boka" --days tue,thu
refused "$HUB" "already registered" office register --office arjeplog --kind private \
    --name X --town X --place X --booking X --days tue,thu
step "$HUB" office admin-add --office storuman --admin adm-anna --name "Anna Lind"

# With one administrator Storuman is not yet listed, and the hub is warned.
kn "$HUB" report directory --json
expect_rc 0 "report directory"
py 'import json,sys; d=json.loads(sys.argv[1]); assert [r["office"] for r in d] == ["arjeplog"], d'
kn "$HUB" report alerts --json
expect_rc 0 "report alerts"
py 'import json,sys; d=json.loads(sys.argv[1]); assert [(r["alert"], r["office"]) for r in d] == [("too-few-administrators", "storuman")], d'
ok "an organisation office with one administrator: not in the directory, an alert"

step "$HUB" office admin-add --office storuman --admin adm-bertil --name "Bertil Holm"
step "$HUB" office bind-node --node "$STOID" --office storuman --role office
step "$HUB" office bind-node --node "$ARJID" --office arjeplog --role office
kn "$HUB" report directory --json
py 'import json,sys; d=json.loads(sys.argv[1]); assert sorted(r["office"] for r in d) == ["arjeplog", "storuman"], d'
ok "two administrators: Storuman joins the directory"

# ---- orders: three per office, each to a different care provider at an office ----

place() { # place ORDER OFFICE PROVIDER
    step "$HUB" order place --order "$1" --care-provider "$3" --holder "Holder of $1" \
        --office "$2" --card-type siths-e
    STATE[$1]=ordered PROVIDER[$1]=$3 OFFICE_OF[$1]=$2
}
ship() {
    SERIAL[$1]="SN-$1-$RANDOM"
    step "$HUB" card ship --order "$1" --serial "${SERIAL[$1]}" --rek "RR${RANDOM}SE"
    STATE[$1]=shipped
}
place S1 storuman region-vasterbotten
place S2 storuman storumans-kommun
place S3 storuman region-vasterbotten-tandvard
place A1 arjeplog region-norrbotten
place A2 arjeplog arjeplogs-kommun
place A3 arjeplog region-norrbotten
refused "$HUB" "already exists" order place --order A1 --care-provider x --holder x \
    --office arjeplog --card-type siths-e
for o in S1 S2 S3 A1 A2 A3; do ship "$o"; done
refused "$HUB" "shipped; card.shipped cannot follow" card ship --order S1 --serial X --rek X
ok "6 orders placed and shipped"

# An office that has not heard of an order cannot act on it.
refused "$ARJ" "no order A1 is known" card notice --order A1

send "$HUB" "$STO"
hub_seq=$(clock_seq "$HUB" "$HUBID")
[[ "$SENT" == "$hub_seq" ]] || fail "the hub sent Storuman $SENT entries, want all its $hub_seq"
send "$HUB" "$ARJ"
same_digest "after the hub's entries reach the offices"

# ---- Arjeplog walks its cards ----

walk_to_stored() { # NODE ORDER
    step "$1" card notice --order "$2"
    STATE[$2]=notice
    step "$1" card collect --order "$2"
    STATE[$2]=collected
    step "$1" card store --order "$2" --locked
    STATE[$2]=stored
}
# Storuman's node may not act for Arjeplog.
refused "$STO" "not bound to office arjeplog" card notice --order A1
walk_to_stored "$ARJ" A1
refused "$ARJ" "locked must be true" card store --order A1
walk_to_stored "$ARJ" A2
walk_to_stored "$ARJ" A3
refused "$ARJ" "stored; notice.received cannot follow" card notice --order A2

handover() { # NODE ORDER [APPOINTMENT]
    local extra=()
    [[ -n "${3:-}" ]] && extra=(--appointment "$3")
    step "$1" handover complete --order "$2" --serial "${SERIAL[$2]}" --id-checked \
        --right-person --pin-envelope "${extra[@]}"
    STATE[$2]=handed-over
    MEETINGS+=("$2 completed")
}

# A1: the first meeting fails (no PIN envelope); the second, at the holder's home, completes.
step "$ARJ" appointment book --appointment ap-a1-1 --order A1 --at-ms 2031-03-04T09:00Z \
    --place-kind office --place "Storgatan 3"
refused "$ARJ" "already booked by appointment ap-a1-1" appointment book --appointment ap-a2-x \
    --order A2 --at-ms 2031-03-04T09:00Z --place-kind office --place "Storgatan 3"
refused "$ARJ" "id_checked, right_person and pin_envelope" handover complete --order A1 \
    --serial "${SERIAL[A1]}" --id-checked --right-person --appointment ap-a1-1
step "$ARJ" handover fail --order A1 --reason no-pin-envelope --appointment ap-a1-1
MEETINGS+=("A1 failed no-pin-envelope")
step "$ARJ" appointment book --appointment ap-a1-2 --order A1 --at-ms 2031-03-11T16:30Z \
    --place-kind home-delivery --place "the holder's home"
refused "$ARJ" "is not the card shipped" handover complete --order A1 --serial SN-WRONG \
    --id-checked --right-person --pin-envelope --appointment ap-a1-2
handover "$ARJ" A1 ap-a1-2
refused "$ARJ" "handed-over; handover.completed cannot follow" handover complete --order A1 \
    --serial "${SERIAL[A1]}" --id-checked --right-person --pin-envelope
# A2: the holder does not come (a no-show is no meeting held: the next one is not extra), then
# the card is handed over at the office without an appointment. A3 stays in the locked cabinet.
step "$ARJ" handover fail --order A2 --reason no-show
MEETINGS+=("A2 failed no-show")
handover "$ARJ" A2
ok "Arjeplog: A1 failed (no PIN envelope) then handed over at home, A2 after a no-show, A3 stored"

# ---- Storuman walks its cards; S3 stays in the post ----

walk_to_stored "$STO" S1
walk_to_stored "$STO" S2
kn "$STO" appointment book --appointment ap-s1 --order S1 --at-ms 2031-03-05T13:00Z \
    --place-kind administrator-home --place "Bertil's kitchen"
expect_rc 1 "an appointment at the administrator's home"
expect_text "refused: the administrator's home is not an allowed hand-over place" "$ERR" \
    "the refusal of administrator-home names the rule"
step "$STO" appointment book --appointment ap-s1 --order S1 --at-ms 2031-03-05T13:00Z \
    --place-kind home-delivery --place "the holder's home"
handover "$STO" S1 ap-s1
ok "Storuman: administrator-home refused (exit 1, the rule named), home-delivery accepted"

round
same_digest "after a round of exchanges"
arj_seq=$(clock_seq "$ARJ" "$ARJID")
[[ "$(clock_seq "$STO" "$ARJID")" == "$arj_seq" ]] ||
    fail "Storuman holds Arjeplog's feed at $(clock_seq "$STO" "$ARJID"), want $arj_seq"
[[ "$(clock_seq "$ARJ" "$STOID")" == "$(clock_seq "$STO" "$STOID")" ]] ||
    fail "Arjeplog does not hold all of Storuman's feed"
ok "office to office through the hub: Storuman holds Arjeplog's $arj_seq entries, and back"

# ---- apart: the hub revokes S2 as lost while Storuman hands it over ----
#
# Entries apply in (height, hash) order, height = 1 + the highest parent. All three nodes now
# hold the same entries, so the same last-applied entry at height H. The hub's revocation has
# parents of height <= H: height H+1. Storuman first issues a reserve card (height H+1), then
# hands over S2 (its parent is the reserve entry: height H+2). So on every node the revocation
# applies first and the hand-over, which cannot follow a revoked card, is the one conflict.

refused "$HUB" "police_report" card revoke --order S2 --reason lost
step "$HUB" card revoke --order S2 --reason lost --police-report "5000-K123456-26"
STATE[S2]=revoked

valid_until=$(date -u -d '+30 days' +%Y-%m-%d)
refused "$STO" "at most three months" reserve issue --reserve R-S1 --office storuman \
    --holder "Cecilia Berg" --reason lost-card --valid-until-ms "$(date -u -d '+100 days' +%Y-%m-%d)" \
    --receipt KV-0001
step "$STO" reserve issue --reserve R-S1 --office storuman --holder "Cecilia Berg" \
    --reason lost-card --valid-until-ms "$valid_until" --receipt KV-0001
# Storuman has not seen the revocation: the hand-over is accepted there.
step "$STO" handover complete --order S2 --serial "${SERIAL[S2]}" --id-checked --right-person \
    --pin-envelope
kn "$STO" report orders --state handed-over --office storuman --json
py 'import json,sys; d=json.loads(sys.argv[1]); assert sorted(r["order_id"] for r in d) == ["S1", "S2"], d'
kn "$STO" report conflicts --json
py 'import json,sys; assert json.loads(sys.argv[1]) == [], "conflicts before the exchange"'
ok "apart: the hub revoked S2 (lost, police report), Storuman handed S2 over"

send "$STO" "$HUB"
[[ "$SENT" == 3 ]] || fail "Storuman sent the hub $SENT entries, want 3 (reserve, its sealed holder, hand-over)"
send "$ARJ" "$HUB"
[[ "$SENT" == 0 ]] || fail "Arjeplog had $SENT new entries for the hub, want 0"
send "$HUB" "$STO"
[[ "$SENT" == 1 ]] || fail "the hub sent Storuman $SENT entries, want 1 (the revocation)"
expect_text 'rebuilt in order' "$OUT" "the revocation belongs before Storuman's hand-over"
send "$HUB" "$ARJ"
[[ "$SENT" == 4 ]] || fail "the hub sent Arjeplog $SENT entries, want 4 (Storuman's reserve, its sealed holder, hand-over; the revocation)"
same_digest "after the conflicting entries are exchanged"

for node in "$HUB" "$STO" "$ARJ"; do
    kn "$node" report conflicts --json
    expect_rc 0 "report conflicts at $(basename "$node")"
    py 'import json,sys
d = json.loads(sys.argv[1])
assert len(d) == 1, "want exactly one conflict, got %d" % len(d)
c = d[0]
assert c["author"] == sys.argv[2], c
assert c["type"] == "handover.completed" and c["status"] == "conflict", c
assert "revoked" in c["reason"], c' "$STOID"
done
kn "$HUB" report conflicts
expect_text 'handover\.completed +conflict +order S2 is revoked' "$OUT" "the text report of it"
ok "every node lists one conflict: Storuman's hand-over of the revoked S2"

# ---- the final round, and what the reports must say ----

round
same_digest "after the final round"
for node in "$HUB" "$STO" "$ARJ"; do
    kn "$node" state rebuild
    expect_rc 0 "state rebuild at $(basename "$node")"
    [[ "$OUT" == "$(digest "$HUB")" ]] ||
        fail "a full rebuild at $(basename "$node") gives another digest"
    kn "$node" log verify --every
    expect_rc 0 "log verify --every at $(basename "$node")"
done
ok "a rebuild from the log gives the same digest everywhere; every signature verifies"

# The revocation won: S2's hand-over is not a meeting and is not paid for.
for i in "${!MEETINGS[@]}"; do
    [[ "${MEETINGS[$i]}" == "S2 completed" ]] && unset 'MEETINGS[i]'
done
MEETINGS=("${MEETINGS[@]}")
model_json >"$T/model.json"

kn "$ARJ" report orders --json
expect_rc 0 "report orders"
py 'import json,sys
d = {r["order_id"]: r for r in json.loads(sys.argv[1])}
m = json.load(open(sys.argv[2]))
assert sorted(d) == sorted(m["orders"]), (sorted(d), sorted(m["orders"]))
for o, want in m["orders"].items():
    r = d[o]
    assert r["state"] == want["state"], (o, r, want)
    assert r["office"] == want["office"] and r["care_provider"] == want["provider"], (o, r)
    failed = sum(1 for x in m["meetings"] if x["order"] == o and x["result"] == "failed")
    assert r["failed_meetings"] == failed, (o, r)
    done = any(x["order"] == o and x["result"] == "completed" for x in m["meetings"])
    assert (r["handed_over_ms"] is not None) == done, (o, r)
assert d["S2"]["reason"] == "lost", d["S2"]' "$T/model.json"
ok "report orders: every order's state, office, provider, failed meetings and hand-over time as done"
kn "$ARJ" report handovers --json
expect_rc 0 "report handovers"
py 'import json,sys
days = json.loads(sys.argv[1])
m = json.load(open(sys.argv[2]))
done = {x["order"] for x in m["meetings"] if x["result"] == "completed"}
assert sum(d["handovers"] for d in days) == len(done) > 0, (days, done)
assert all(len(d["day"]) == 10 for d in days), days' "$T/model.json"
kn "$ARJ" report orders --match "${SERIAL[A1]}" --limit 5 --json
expect_rc 0 "report orders --match"
py 'import json,sys; assert [r["order_id"] for r in json.loads(sys.argv[1])] == ["A1"], sys.argv[1]'
kn "$ARJ" report orders --limit 2 --json
py 'import json,sys; assert len(json.loads(sys.argv[1])) == 2, sys.argv[1]'
kn "$ARJ" report orders --limit 0
expect_rc 2 "report orders --limit 0"
ok "report handovers: every hand-over counted by its day; report orders --match finds by serial, --limit limits, a bad limit refused"

STOCK_CHECK='import json,sys
d = {r["office"]: r for r in json.loads(sys.argv[1])}
m = json.load(open(sys.argv[2]))
buckets = {"ordered": "ordered", "shipped": "in_transit", "notice": "notice_waiting",
           "collected": "locked_storage", "stored": "locked_storage",
           "handed-over": "handed_over"}
assert sorted(d) == sorted(m["offices"]), d
for office, kind in m["offices"].items():
    want = dict.fromkeys(set(buckets.values()), 0)
    for o in m["orders"].values():
        if o["office"] == office and o["state"] in buckets:
            want[buckets[o["state"]]] += 1
    got = {k: d[office][k] for k in want}
    assert got == want, (office, got, want)
    assert d[office]["kind"] == kind and d[office]["status"] == "open", d[office]'
for node in "$HUB" "$STO" "$ARJ"; do
    kn "$node" report stock --json
    expect_rc 0 "report stock --json at $(basename "$node")"
    py "$STOCK_CHECK" "$T/model.json"
done
ok "report stock --json on every node: the figures of the model"

# ---- the invoice of the current month ----
#
# Entry timestamps are the real clock and months are Swedish time (UTC+1 or +2); a run around
# midnight at a month's end may split its meetings over two months. Every meeting happened between
# RUN_START and now, so summing the invoices of every month those instants can fall in counts each
# meeting exactly once.
months=()
for t in "$RUN_START" "$(date -u +%s)"; do
    for off in 0 3600 7200; do
        months+=("$(date -u -d "@$((t + off))" +%Y-%m)")
    done
done
mapfile -t months < <(printf '%s\n' "${months[@]}" | sort -u)
printf '[' >"$T/invoices.json"
sep=''
for month in "${months[@]}"; do
    kn "$HUB" report invoice --month "$month" --json
    expect_rc 0 "report invoice --month $month --json"
    printf '%s%s' "$sep" "$OUT" >>"$T/invoices.json"
    sep=,
done
printf ']\n' >>"$T/invoices.json"
OUT=$(cat "$T/invoices.json")
py 'import json,sys
docs = json.loads(sys.argv[1])
m = json.load(open(sys.argv[2]))
# The rules (DOMAIN.md): a private administrator gets 500 SEK per card handed over and 250 SEK
# for the extra meeting right after one that failed for the holder (no valid ID, wrong person,
# no PIN envelope; a no-show is no meeting held); an organisation office 800 SEK + 25 % VAT per
# card; each care provider pays 800 SEK + VAT per card.
paying = ("no-valid-id", "wrong-person", "no-pin-envelope")
handovers, extra, cards = {}, {}, {}
for i, x in enumerate(m["meetings"]):
    office = m["orders"][x["order"]]["office"]
    if x["result"] == "completed":
        handovers[office] = handovers.get(office, 0) + 1
        p = m["orders"][x["order"]]["provider"]
        cards[p] = cards.get(p, 0) + 1
    before = [e for e in m["meetings"][:i] if e["order"] == x["order"]]
    if before and before[-1]["result"] == "failed" and before[-1]["reason"] in paying \
            and x["reason"] != "no-show":
        extra[office] = extra.get(office, 0) + 1
got_off, got_prov = {}, {}
for doc in docs:
    for r in doc["offices"]:
        g = got_off.setdefault(r["office"], dict(kind=r["kind"], handovers=0, extra_meetings=0,
                                                 amount_sek=0, vat_sek=0))
        for k in ("handovers", "extra_meetings", "amount_sek", "vat_sek"):
            g[k] += r[k]
    for r in doc["care_providers"]:
        g = got_prov.setdefault(r["care_provider"], dict(cards=0, amount_sek=0, vat_sek=0,
                                                         total_sek=0))
        for k in g:
            g[k] += r[k]
want_off = {}
for office, kind in m["offices"].items():
    h = handovers.get(office, 0)
    if kind == "private":
        e = extra.get(office, 0)
        want_off[office] = dict(kind=kind, handovers=h, extra_meetings=e,
                                amount_sek=500 * h + 250 * e, vat_sek=0)
    else:
        want_off[office] = dict(kind=kind, handovers=h, extra_meetings=0, amount_sek=800 * h,
                                vat_sek=200 * h)
want_prov = {p: dict(cards=n, amount_sek=800 * n, vat_sek=200 * n, total_sek=1000 * n)
             for p, n in cards.items()}
assert got_off == want_off, ("offices", got_off, want_off)
assert got_prov == want_prov, ("care providers", got_prov, want_prov)
# What the model says, spelled out, so a wrong model cannot pass unnoticed.
assert want_off["arjeplog"] == dict(kind="private", handovers=2, extra_meetings=1,
                                    amount_sek=1250, vat_sek=0), want_off
assert want_off["storuman"] == dict(kind="organisation", handovers=1, extra_meetings=0,
                                    amount_sek=800, vat_sek=200), want_off
print("invoice over %s: %s" % (",".join(d["month"] for d in docs), json.dumps(want_off)))' \
    "$T/model.json"
ok "report invoice --json: private 500/hand-over + 250/extra meeting, organisation 800 + 200 VAT"

month=$(date -u +%Y-%m)
kn "$HUB" report invoice --month "$month" --csv
expect_rc 0 "report invoice --csv"
py 'import csv,io,sys
lines = sys.argv[1].split("\n")
head = next(csv.reader([lines[0]]))
assert head == ["office", "kind", "handovers", "extra_meetings", "amount_sek", "vat_sek",
                "issued_sek"], head
rows = list(csv.reader(io.StringIO(sys.argv[1])))
offices = [r for r in rows[1:] if r and len(r) == len(head)]
assert sorted(r[0] for r in offices[:2]) == ["arjeplog", "storuman"], rows
for r in offices[:2]:
    int(r[2]); int(r[4])'
kn "$HUB" report invoice --month 2020-13x
expect_rc 2 "report invoice with a bad month"
ok "report invoice --csv: a header line and one parsable row per office"

kn "$STO" report directory --json
expect_rc 0 "report directory --json"
py 'import json,sys
d = {r["office"]: r for r in json.loads(sys.argv[1])}
assert sorted(d) == ["arjeplog", "storuman"], d
assert d["storuman"]["town"] == "Storuman" and d["arjeplog"]["days"] == "tue,thu", d
assert all("holder" not in r for r in d.values())'
kn "$ARJ" report directory
expect_text 'Storumans vårdcentral' "$OUT" "the text directory"
expect_text 'Kortombud Arjeplog' "$OUT" "the text directory"
ok "report directory lists both offices"

# ---- alerts ----

kn "$HUB" report alerts --json
expect_rc 0 "report alerts now"
py 'import json,sys; d=json.loads(sys.argv[1]); assert d == [], d'
later=$(date -u -d '+60 days' +%Y-%m-%d)
kn "$HUB" report alerts --now "$later" --json
expect_rc 0 "report alerts --now $later"
py 'import json,sys
d = json.loads(sys.argv[1])
m = json.load(open(sys.argv[2]))
valid_until, later = sys.argv[3], sys.argv[4]
want = set()
for o, x in m["orders"].items():
    if x["state"] == "shipped":                 # shipped 60 days ago, no notice: > 28 days
        want.add(("not-received", x["office"], o))
    if x["state"] in ("collected", "stored"):   # in the cabinet 60 days: > 30 days
        want.add(("stored-long", x["office"], o))
if valid_until < later:
    want.add(("reserve-overdue", "storuman", "R-S1"))
want.add(("receipt-not-archived", "storuman", "R-S1"))  # issued today, never archived: > 7 days
got = {(r["alert"], r["office"], r["subject"]) for r in d}
assert len(d) == len(got) and got == want, (sorted(got), sorted(want))
assert ("not-received", "storuman", "S3") in got and ("reserve-overdue", "storuman", "R-S1") in got
for r in d:
    if r["alert"] == "reserve-overdue":
        assert valid_until in r["detail"], r' "$T/model.json" "$valid_until" "$later"
ok "report alerts --now +60 days: S3 not received, A3 stored long, reserve R-S1 overdue, its receipt not archived"
