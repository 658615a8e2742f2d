#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# clock: the latest seq of every feed held, as text and as JSON.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

D="$T/node"
new_node "$D"

kn "$D" clock --json
expect_rc 0 "clock --json of an empty node"
python3 -c '
import json, sys
c = json.loads(sys.argv[1])
assert isinstance(c, dict), "not an object"
assert c.get(sys.argv[2], 0) == 0, "lists our feed at %r before any append" % c.get(sys.argv[2])
' "$OUT" "$ID" || fail "clock --json of an empty node: $OUT"
ok "clock --json of an empty node"

append_n "$D" 3
kn "$D" clock --json
expect_rc 0 "clock --json"
printf '%s' "$OUT" >"$T/clock.json"
python3 -c '
import json, sys
with open(sys.argv[1]) as f:
    c = json.load(f)
assert c == {sys.argv[2]: 3}, "clock is %r, want {%s: 3}" % (c, sys.argv[2])
' "$T/clock.json" "$ID" || fail "clock --json after 3 appends: $OUT"
ok "clock --json lists the feed at seq 3"

kn "$D" clock
expect_rc 0 "clock"
expect_text "^$ID 3 \(this node\)$" "$OUT" "clock (text) lists the feed at seq 3"
ok "clock lists the feed at seq 3"
