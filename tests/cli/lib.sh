# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared helpers of the command-line tests (tests/cli/*.sh), sourced by each of them. Every test
# runs the kortnod binary named by $KORTNOD (set by tests/meson.build) in a temporary directory of
# its own, removed on exit, and exits 1 with a message naming what was wrong.

set -euo pipefail

if [[ -z "${KORTNOD:-}" || ! -x "$KORTNOD" ]]; then
    echo "FAIL: \$KORTNOD must name the built kortnod binary (got '${KORTNOD:-}')" >&2
    exit 1
fi

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/kortnod-cli-$TEST_NAME.XXXXXX")
trap 'rm -rf "$T"' EXIT
# A test never touches the data directory of whoever runs it.
unset KORTNOD_DATA XDG_DATA_HOME
export HOME="$T/home"
mkdir -p "$HOME"

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    exit 1
}

ok() {
    echo "ok - $*"
}

# run CMD... - run a command, keeping its exit status in $RC, its stdout in $OUT and its stderr
# in $ERR (never aborting the test through set -e).
run() {
    local rc=0
    "$@" >"$T/.out" 2>"$T/.err" || rc=$?
    RC=$rc
    OUT=$(cat "$T/.out")
    ERR=$(cat "$T/.err")
}

# kn DIR ARGS... - run kortnod on the node in DIR (see run).
kn() {
    local dir=$1
    shift
    run "$KORTNOD" --data "$dir" "$@"
}

# expect_rc WANT WHAT - fail unless the last run exited with WANT.
expect_rc() {
    if [[ "$RC" != "$1" ]]; then
        fail "$2: exit status $RC, want $1
--- stdout:
$OUT
--- stderr:
$ERR"
    fi
}

# expect_text PATTERN WHERE WHAT - fail unless the extended regexp PATTERN matches WHERE.
expect_text() {
    if ! grep -Eq -- "$1" <<<"$2"; then
        fail "$3: output does not match /$1/
--- output:
$2"
    fi
}

# reject_text PATTERN WHERE WHAT - fail if the extended regexp PATTERN matches WHERE.
reject_text() {
    if grep -Eq -- "$1" <<<"$2"; then
        fail "$3: output matches /$1/ but must not
--- output:
$2"
    fi
}

# new_node DIR [ROLE] - init a node in DIR; its id in $ID.
new_node() {
    kn "$1" init --role "${2:-office}" --name "test node"
    expect_rc 0 "init --role ${2:-office} in $1"
    ID=$OUT
    [[ "$ID" =~ ^[0-9a-f]{64}$ ]] || fail "init printed '$ID', not a 64-hex node id"
}

# append DIR N - append N entries of type test.entry to DIR's feed.
append_n() {
    local i
    for ((i = 1; i <= $2; i++)); do
        kn "$1" log append --type test.entry --body "{\"i\":$i}"
        expect_rc 0 "log append #$i in $1"
    done
}

# clock_seq DIR AUTHOR - the seq DIR's `clock --json` lists for AUTHOR (0 when absent).
clock_seq() {
    kn "$1" clock --json
    expect_rc 0 "clock --json in $1"
    python3 -c '
import json, sys
c = json.loads(sys.argv[1])
assert isinstance(c, dict), "clock --json is not an object"
print(c.get(sys.argv[2], 0))' "$OUT" "$2" || fail "clock --json of $1 is not a JSON object: $OUT"
}

# entry_count DIR - the number of entries `log show --json` lists.
entry_count() {
    kn "$1" log show --json
    expect_rc 0 "log show --json in $1"
    python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$OUT" ||
        fail "log show --json is not JSON: $OUT"
}
