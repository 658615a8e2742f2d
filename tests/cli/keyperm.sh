#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A key file that group or others may read or write is refused (exit 1, pointing to chmod 600)
# by every command that opens the node, and nothing is appended; chmod 600 makes it work again.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

D="$T/node"
new_node "$D"
kn "$D" log append --type order.placed --body '{"order":"ORD-1"}'
expect_rc 0 "log append with mode 600"
cp -p "$D/node.key" "$T/key.before"

for mode in 640 604 660 644 620 602 666; do
    chmod "$mode" "$D/node.key"
    kn "$D" id
    expect_rc 1 "id with node.key mode $mode"
    expect_text '0600|chmod' "$ERR" "id with node.key mode $mode mentions 0600/chmod"
    [[ -z "$OUT" ]] || fail "id with node.key mode $mode still printed '$OUT'"
    kn "$D" log append --type order.placed --body '{"order":"ORD-2"}'
    expect_rc 1 "log append with node.key mode $mode"
    expect_text '0600|chmod' "$ERR" "log append with node.key mode $mode mentions 0600/chmod"
    for cmd in 'log show' 'log verify' 'clock' "export --out $T/x.kbundle"; do
        # shellcheck disable=SC2086
        kn "$D" $cmd
        expect_rc 1 "$cmd with node.key mode $mode"
    done
    [[ ! -e "$T/x.kbundle" ]] || fail "export with node.key mode $mode wrote a file"
    m=$(stat -c %a "$D/node.key")
    [[ "$m" == "$mode" ]] || fail "kortnod changed node.key's mode from $mode to $m by itself"
done
expect_text "chmod 600 $D/node.key" "$ERR" "the message gives the chmod command to run"
ok "modes 640 604 660 644 620 602 666 are refused, naming chmod 600"

chmod 600 "$D/node.key"
kn "$D" id
expect_rc 0 "id after chmod 600"
[[ "$OUT" == "$ID" ]] || fail "id after chmod 600 printed '$OUT', want $ID"
n=$(entry_count "$D")
[[ "$n" == 1 ]] || fail "entries were appended while the key was refused: $n entries, want 1"
kn "$D" log append --type order.placed --body '{"order":"ORD-2"}'
expect_rc 0 "log append after chmod 600"
expect_text '^appended seq 2,' "$OUT" "log append after chmod 600 appends seq 2"
cmp -s "$D/node.key" "$T/key.before" || fail "node.key's bytes changed"
ok "after chmod 600 id and log append work again"
