#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# --help, --version, and wrong usage: unknown commands and options, missing values and required
# options all exit 2 without touching the data directory.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

run "$KORTNOD" --help
expect_rc 0 "--help"
for cmd in 'init' 'id' 'log append' 'log show' 'log verify' 'clock' 'export' 'import' \
    'reader list' 'demo'; do
    expect_text "^  $cmd( |$)" "$OUT" "--help lists '$cmd'"
done
expect_text '--data' "$OUT" "--help describes --data"
[[ -z "$ERR" ]] || fail "--help wrote to stderr: $ERR"
ok "--help lists every command"

run "$KORTNOD" log append --help
expect_rc 0 "log append --help"
expect_text '^Usage: kortnod' "$OUT" "a subcommand's --help shows the usage"
ok "COMMAND --help"

run "$KORTNOD" --version
expect_rc 0 "--version"
want=$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" "${KORTNOD_SOURCE_ROOT:-/nonexistent}/meson.build" \
    2>/dev/null | head -n1 || true)
expect_text '^kortnod [0-9]+\.[0-9]+\.[0-9]+' "$OUT" "--version prints 'kortnod X.Y.Z'"
if [[ -n "$want" ]]; then
    [[ "$OUT" == "kortnod $want" ]] || fail "--version printed '$OUT', meson.build says $want"
fi
ok "--version: $OUT"

D="$T/data"
# Each of these is wrong usage: exit 2, a message on stderr, nothing on stdout, no data dir made.
usage_cases=(
    ''
    'frobnicate'
    '--bogus id'
    '-x id'
    '--data'
    'init'
    'init --name X'
    'init --role'
    'init --role office --name'
    'init --role office --bogus'
    'init --role admin'
    'init --role Office'
    'init --role office extra'
    'id extra'
    'log'
    'log frob'
    'log append'
    'log append --type order.placed'
    'log append --body {}'
    'log append --type order.placed --body'
    'log append --type order.placed --body {} --bogus'
    'log show --bogus'
    'log show --author nothex'
    'log verify --bogus'
    'clock --bogus'
    'export'
    'export --since x.json'
    'export --out'
    'export --out f --bogus'
    'import'
    'import --bogus'
    'import a b'
    'reader'
    'reader frob'
    'demo --bogus'
)
for args in "${usage_cases[@]}"; do
    rm -rf "$D"
    # shellcheck disable=SC2086 # word splitting of the case is intended
    if [[ "$args" == --data* || -z "$args" ]]; then
        run "$KORTNOD" $args
    else
        run "$KORTNOD" --data "$D" $args
    fi
    expect_rc 2 "kortnod $args"
    [[ -n "$ERR" ]] || fail "kortnod $args: exit 2 but nothing said on stderr"
    [[ ! -e "$D" ]] || fail "kortnod $args: wrong usage created the data directory $D"
done
ok "${#usage_cases[@]} kinds of wrong usage exit 2"

run "$KORTNOD" frobnicate
expect_text "unknown command 'frobnicate'" "$ERR" "unknown command is named"
run "$KORTNOD" --bogus id
expect_text "unknown option '--bogus'" "$ERR" "unknown option is named"
ok "wrong usage is explained"
