#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Which data directory: --data, then $KORTNOD_DATA, then $XDG_DATA_HOME/kortnod, then
# ~/.local/share/kortnod.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

# lib.sh unset KORTNOD_DATA and XDG_DATA_HOME and pointed HOME at $T/home.
run env -u KORTNOD_DATA -u XDG_DATA_HOME HOME="$T/home" "$KORTNOD" init --role office --name H
expect_rc 0 "init with KORTNOD_DATA unset"
idh=$OUT
[[ -f "$T/home/.local/share/kortnod/node.key" ]] ||
    fail "init without KORTNOD_DATA did not create \$HOME/.local/share/kortnod/node.key: $(find "$T/home")"
[[ "$(stat -c %a "$T/home/.local/share/kortnod/node.key")" == 600 ]] ||
    fail "\$HOME/.local/share/kortnod/node.key is not mode 600"
run env -u KORTNOD_DATA -u XDG_DATA_HOME HOME="$T/home" "$KORTNOD" id
expect_rc 0 "id with KORTNOD_DATA unset"
[[ "$OUT" == "$idh" ]] || fail "id with the default directory printed '$OUT', want $idh"
ok "default: \$HOME/.local/share/kortnod"

run env KORTNOD_DATA="$T/x" HOME="$T/home" "$KORTNOD" init --role hub
expect_rc 0 "init with KORTNOD_DATA=$T/x"
idx=$OUT
[[ -f "$T/x/node.key" && -f "$T/x/kortnod.db" ]] || fail "KORTNOD_DATA=$T/x: no node.key/kortnod.db there"
[[ "$idx" != "$idh" ]] || fail "KORTNOD_DATA=$T/x reused the default node"
run env KORTNOD_DATA="$T/x" HOME="$T/home" "$KORTNOD" id
[[ "$OUT" == "$idx" ]] || fail "id with KORTNOD_DATA=$T/x printed '$OUT', want $idx"
run env KORTNOD_DATA="$T/x" HOME="$T/home" "$KORTNOD" log append --type t --body '{}'
expect_rc 0 "log append with KORTNOD_DATA"
[[ "$(clock_seq "$T/x" "$idx")" == 1 ]] || fail "the append with KORTNOD_DATA did not go to $T/x"
[[ "$(clock_seq "$T/home/.local/share/kortnod" "$idx")" == 0 ]] ||
    fail "the append with KORTNOD_DATA went to the default node"
ok "KORTNOD_DATA=$T/x is used"

run env KORTNOD_DATA="$T/x" HOME="$T/home" "$KORTNOD" --data "$T/home/.local/share/kortnod" id
[[ "$OUT" == "$idh" ]] || fail "--data does not win over KORTNOD_DATA"
ok "--data wins over KORTNOD_DATA"

run env -u KORTNOD_DATA XDG_DATA_HOME="$T/xdg" HOME="$T/home" "$KORTNOD" init --role mobile
expect_rc 0 "init with XDG_DATA_HOME"
[[ -f "$T/xdg/kortnod/node.key" ]] || fail "XDG_DATA_HOME=$T/xdg: no $T/xdg/kortnod/node.key"
ok "XDG_DATA_HOME/kortnod when set"
