#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# log append and log show: canonical payloads, refused bodies and types, dependencies.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

D="$T/node"
new_node "$D"

kn "$D" log append --type order.placed --body '{"b":1,"a":"x"}'
expect_rc 0 "log append --type order.placed --body '{\"b\":1,\"a\":\"x\"}'"
expect_text '^appended seq 1, hash [0-9a-f]{64}$' "$OUT" "log append reports seq 1 and its hash"
hash1=${OUT##* }

kn "$D" log show --json
expect_rc 0 "log show --json"
printf '%s' "$OUT" >"$T/show.json"
python3 - "$T/show.json" "$ID" "$hash1" <<'PY' || fail "log show --json is wrong (see above): $OUT"
import json, sys
with open(sys.argv[1]) as f:
    entries = json.load(f)
author, hash1 = sys.argv[2], sys.argv[3]
assert isinstance(entries, list) and len(entries) == 1, f"want a list of 1 entry: {entries!r}"
e = entries[0]
problems = []
def want(key, value):
    if e.get(key) != value:
        problems.append(f"{key} is {e.get(key)!r}, want {value!r}")
want("seq", 1)
want("author", author)
want("type", "order.placed")
want("hash", hash1)
want("prev_hash", None)
want("deps", [])
want("payload", {"a": "x", "b": 1})
# The payload is canonical msgpack: keys in byte order, shortest forms: 82 a1 61 a1 78 a1 62 01.
want("payload_len", 8)
if not isinstance(e.get("payload_hash"), str) or len(e["payload_hash"]) != 64:
    problems.append(f"payload_hash {e.get('payload_hash')!r} is not 64 hex digits")
if problems:
    sys.exit("log show --json: " + "; ".join(problems))
PY
ok "log show --json: seq 1, type, canonical payload {\"a\":\"x\",\"b\":1}"

kn "$D" log append --type order.placed --body '{"a":"x","b":1}'
expect_rc 0 "the same body with keys in order"
kn "$D" log show --json
python3 -c '
import json, sys
e = json.loads(sys.argv[1])
assert [x["seq"] for x in e] == [1, 2], "seqs %r" % [x["seq"] for x in e]
assert e[0]["payload_hash"] == e[1]["payload_hash"], "key order changed the canonical payload"
assert e[1]["prev_hash"] == e[0]["hash"], "seq 2 does not link to seq 1"
' "$OUT" || fail "log show --json after a second append: $OUT"
ok "key order does not change the payload; seq 2 links to seq 1"

# Refused bodies and types: exit 2, nothing appended.
refuse() {
    local what=$1
    shift
    kn "$D" log append "$@"
    expect_rc 2 "$what"
    [[ -n "$ERR" ]] || fail "$what: no message"
    n=$(entry_count "$D")
    [[ "$n" == 2 ]] || fail "$what: an entry was appended anyway ($n entries, want 2)"
}
refuse "a float in the body" --type order.placed --body '{"a":1.5}'
expect_text 'fraction|float|integer' "$ERR" "a float body says why"
refuse "an exponent in the body" --type order.placed --body '{"a":1e3}'
refuse "a nested float" --type order.placed --body '{"a":[1,{"b":0.5}]}'
refuse "invalid JSON" --type order.placed --body '{"a":'
refuse "not JSON at all" --type order.placed --body 'order placed'
refuse "trailing garbage" --type order.placed --body '{"a":1} x'
refuse "an empty body" --type order.placed --body ''
refuse "a repeated key" --type order.placed --body '{"a":1,"a":2}'
refuse "an integer beyond 64 bits" --type order.placed --body '{"a":18446744073709551616}'
refuse "a NUL in a string" --type order.placed --body '{"a":"x\u0000y"}'
refuse "nesting deeper than 32" --type order.placed --body "$(printf '[%.0s' {1..40})$(printf ']%.0s' {1..40})"
refuse "a body over 64 KiB" --type order.placed \
    --body "{\"a\":\"$(head -c 70000 /dev/zero | tr '\0' x)\"}"
expect_text '65536|too big|large' "$ERR" "a body over 64 KiB says it is too big"
refuse "a bad type (Order!)" --type 'Order!' --body '{"a":1}'
refuse "an upper-case type" --type 'Order.placed' --body '{"a":1}'
refuse "a type with a space" --type 'order placed' --body '{"a":1}'
refuse "an empty type" --type '' --body '{"a":1}'
refuse "a 65-byte type" --type "$(printf 'a%.0s' {1..65})" --body '{"a":1}'
ok "floats, invalid JSON and bad types exit 2 and append nothing"

kn "$D" log append --type "$(printf 'a%.0s' {1..64})" --body '[1,"two",null,true,{"k":-3}]'
expect_rc 0 "a 64-byte type and a non-object body"
ok "a 64-byte type is accepted"

# --dep: an entry that exists (ours or a foreign one), one that does not.
kn "$D" log append --type card.collected --body '{"order":"ORD-1"}' --dep "$ID:1"
expect_rc 0 "--dep $ID:1"
kn "$D" log show --json
python3 -c '
import json, sys
e = json.loads(sys.argv[1])
last, first = e[-1], e[0]
assert last["deps"] == [{"author": sys.argv[2], "seq": 1, "hash": first["hash"]}], \
    "deps %r" % last["deps"]
' "$OUT" "$ID" || fail "--dep $ID:1 is not recorded as (author, 1, hash of seq 1): $OUT"
ok "--dep AUTHOR:SEQ of an existing entry is recorded with its hash"

before=$(entry_count "$D")
for dep in "$ID:99" "$(printf '%064d' 0):1"; do
    kn "$D" log append --type card.collected --body '{}' --dep "$dep"
    expect_rc 1 "--dep $dep (no such entry)"
    expect_text 'no such entry' "$ERR" "--dep $dep says the entry is not held"
done
after=$(entry_count "$D")
[[ "$after" == "$before" ]] || fail "a missing --dep appended an entry ($before -> $after)"
ok "--dep of a missing entry exits 1 and appends nothing"

for dep in "xyz" "$ID" "$ID:" "$ID:0" "$ID:-1" "$ID:1x" "${ID:0:63}:1"; do
    kn "$D" log append --type card.collected --body '{}' --dep "$dep"
    expect_rc 2 "--dep '$dep' (malformed)"
    expect_text 'AUTHOR:SEQ' "$ERR" "--dep '$dep' says what it wants"
done
[[ "$(entry_count "$D")" == "$before" ]] || fail "a malformed --dep appended an entry"
ok "a malformed --dep is a usage error (exit 2) and appends nothing"

# log show (text) and --author
kn "$D" log show
expect_rc 0 "log show"
expect_text "^feed $ID" "$OUT" "log show names the feed"
expect_text 'order.placed' "$OUT" "log show lists the entries"
kn "$D" log show --json --author "$(printf '%064d' 0)"
expect_rc 0 "log show --author (a feed not held)"
[[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$OUT")" == 0 ]] ||
    fail "log show --author of an unknown feed lists entries: $OUT"
ok "log show and log show --author"
