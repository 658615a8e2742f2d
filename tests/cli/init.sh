#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# init: a new node id, the key file's mode, refusing a second init, refusing a bad role.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

D="$T/node"
kn "$D" init --role office --name "Vårdcentralen X"
expect_rc 0 "init --role office --name X"
[[ "$OUT" =~ ^[0-9a-f]{64}$ ]] || fail "init printed '$OUT', not exactly one 64-hex node id"
ID=$OUT
ok "init prints a node id: $ID"

kn "$D" id
expect_rc 0 "id"
[[ "$OUT" == "$ID" ]] || fail "id printed '$OUT', init printed '$ID'"
ok "id prints the same id"

[[ -f "$D/node.key" ]] || fail "no $D/node.key after init"
[[ -f "$D/kortnod.db" ]] || fail "no $D/kortnod.db after init"
mode=$(stat -c %a "$D/node.key")
[[ "$mode" == 600 ]] || fail "node.key has mode $mode, want 600"
size=$(stat -c %s "$D/node.key")
[[ "$size" == 64 ]] || fail "node.key holds $size bytes, want 64 (a libsodium Ed25519 secret key)"
# The secret key's last 32 bytes are the public key: the node id.
tail_hex=$(od -An -v -tx1 -j32 -N32 "$D/node.key" | tr -d ' \n')
[[ "$tail_hex" == "$ID" ]] || fail "node.key's public half $tail_hex is not the node id $ID"
dmode=$(stat -c %a "$D")
(((8#$dmode & 8#077) == 0)) || fail "the new data directory has mode $dmode; group/others get in"
ok "node.key is 64 bytes, mode 600; directory mode $dmode"

cp -p "$D/node.key" "$T/key.before"
kn "$D" log append --type order.placed --body '{"order":"ORD-1"}'
expect_rc 0 "log append before the second init"
before_log=$(entry_count "$D")

kn "$D" init --role office --name Other
expect_rc 1 "a second init in the same directory"
expect_text 'already' "$ERR" "a second init says the node already exists"
cmp -s "$D/node.key" "$T/key.before" || fail "a second init changed node.key"
mode=$(stat -c %a "$D/node.key")
[[ "$mode" == 600 ]] || fail "a second init changed node.key's mode to $mode"
kn "$D" id
[[ "$OUT" == "$ID" ]] || fail "after a second init, id is '$OUT', was '$ID'"
after_log=$(entry_count "$D")
[[ "$after_log" == "$before_log" ]] || fail "a second init changed the log: $before_log -> $after_log entries"
kn "$D" init --role hub
expect_rc 1 "a second init with another role"
cmp -s "$D/node.key" "$T/key.before" || fail "a second init (--role hub) changed node.key"
ok "a second init exits 1 and changes nothing"

for role in admin HUB '' 'office ' hubb; do
    kn "$T/bad" init --role "$role"
    expect_rc 2 "init --role '$role'"
    [[ ! -e "$T/bad" ]] || fail "init --role '$role' created $T/bad"
done
ok "a bad role exits 2 and creates nothing"

for role in hub office mobile; do
    kn "$T/$role" init --role "$role"
    expect_rc 0 "init --role $role"
    [[ "$OUT" =~ ^[0-9a-f]{64}$ && "$OUT" != "$ID" ]] ||
        fail "init --role $role printed '$OUT': not a fresh node id"
done
ok "roles hub, office and mobile; each node gets its own key"

kn "$T/none" id
expect_rc 1 "id where there is no node"
expect_text 'init' "$ERR" "id without a node points to 'kortnod init'"
[[ ! -e "$T/none" ]] || fail "id where there is no node created $T/none"
ok "id without a node exits 1"
