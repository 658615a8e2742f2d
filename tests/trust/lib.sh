# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Helpers of the trust tests (tests/trust/*.sh), on top of tests/cli/lib.sh. Entries move between
# nodes as export files (kortnod export / import), so that each step is exact and instant; the
# sync tests (tests/sync/) run the same rules over the network.

# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"

declare -A NID

# hub NAME - a hub in $T/NAME; its id in NID[NAME].
hub() {
    kn "$T/$1" init --role hub --name "$1"
    expect_rc 0 "init --role hub $1"
    NID[$1]=$OUT
}

# office NAME HUB [ROLE] - a node of HUB's network in $T/NAME (not enrolled); NID[NAME].
office() {
    kn "$T/$1" init --role "${3:-office}" --name "$1" --hub "${NID[$2]}"
    expect_rc 0 "init --role ${3:-office} $1 --hub $2"
    NID[$1]=$OUT
}

# register HUB OFFICE - HUB registers an office (the place a node is enrolled for).
register() {
    kn "$T/$1" office register --office "$2" --kind organisation --name "Office $2" \
        --town "$2" --place "Storgatan 1" --booking "070-000 00 00" --days mon,tue
    expect_rc 0 "office register $2 at $1"
}

# enrol HUB NAME OFFICE [ROLE] - HUB enrols NAME's key for OFFICE.
enrol() {
    kn "$T/$1" node enrol "${NID[$2]}" --role "${4:-office}" --office "$3"
    expect_rc 0 "node enrol $2 at $1"
    expect_text "^enrolled ${NID[$2]} as ${4:-office} of $3" "$OUT" "node enrol $2"
}

# xfer FROM TO - everything FROM holds into TO (kortnod export, then import); import's output
# in $OUT.
xfer() {
    kn "$T/$1" export --out "$T/$1.bundle"
    expect_rc 0 "export at $1"
    kn "$T/$2" import "$T/$1.bundle"
    expect_rc 0 "import of $1's export at $2"
}

# seq_at NAME AUTHOR - the seq NAME's clock lists for AUTHOR's feed (0 when absent).
seq_at() {
    clock_seq "$T/$1" "${NID[$2]}"
}

# digest NAME - NAME's state digest.
digest() {
    kn "$T/$1" state digest
    expect_rc 0 "state digest at $1"
    DIGEST=$OUT
}

# py CODE ARGS... - run python3 CODE with sys.argv[1] = $OUT, then ARGS; fail when it fails.
py() {
    python3 -c "$1" "$OUT" "${@:2}" || fail "check failed: $1
--- output:
$OUT"
}
