#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# export and import between nodes: what a clock lacks, idempotent imports, everything without
# --since, and refusal of cut-off and foreign files.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A="$T/a" B="$T/b" C="$T/c"
new_node "$A" hub
IDA=$ID
new_node "$B" office
IDB=$ID
new_node "$C" office
IDC=$ID
append_n "$A" 3
append_n "$B" 2

kn "$B" clock --json
expect_rc 0 "B clock --json"
printf '%s\n' "$OUT" >"$T/b.json"

kn "$A" export --out "$T/a-to-b.kbundle" --since "$T/b.json"
expect_rc 0 "A export --out FILE --since b.json"
expect_text '^exported 3 entries' "$OUT" "A exports its 3 entries to B"
[[ -s "$T/a-to-b.kbundle" ]] || fail "export wrote no file"
[[ -z "$(find "$T" -name '*.partial')" ]] || fail "export left a .partial file behind"
ok "A export --since B's clock: exported 3"

kn "$B" import "$T/a-to-b.kbundle"
expect_rc 0 "B import"
expect_text '3 new, 0 already held, 0 refused' "$OUT" "B's first import"
[[ "$(clock_seq "$B" "$IDA")" == 3 ]] || fail "after import B's clock has A at $(clock_seq "$B" "$IDA"), want 3"
[[ "$(clock_seq "$B" "$IDB")" == 2 ]] || fail "after import B's own feed is not at 2"
kn "$B" log verify --every
expect_rc 0 "B log verify --every after the import"
expect_text 'ok, 5 entries' "$OUT" "B holds 5 good entries"
ok "B import: B's clock has A's feed at 3, verified"

kn "$B" import "$T/a-to-b.kbundle"
expect_rc 0 "B imports the same file again"
expect_text '(^|[^0-9])0 new' "$OUT" "the second import adds nothing"
expect_text '(^|[^0-9])3 already held' "$OUT" "the second import holds all 3 already"
[[ "$(clock_seq "$B" "$IDA")" == 3 ]] || fail "a second import moved A's feed in B's clock"
ok "importing again: 0 new, 3 already held"

# With B's new clock A has nothing left to send.
kn "$B" clock --json
printf '%s\n' "$OUT" >"$T/b2.json"
kn "$A" export --out "$T/none.kbundle" --since "$T/b2.json"
expect_rc 0 "A export --since B's clock after the import"
expect_text '^exported 0 entries' "$OUT" "A has nothing B lacks"
# B sends A what A lacks: only B's own feed.
kn "$A" clock --json
printf '%s\n' "$OUT" >"$T/a.json"
kn "$B" export --out "$T/b-to-a.kbundle" --since "$T/a.json"
expect_rc 0 "B export --since A's clock"
expect_text '^exported 2 entries' "$OUT" "B sends A only B's 2 entries"
ok "export --since sends only what the clock lacks"

kn "$A" export --out "$T/all-a.kbundle"
expect_rc 0 "A export without --since"
expect_text '^exported 3 entries' "$OUT" "A exports all it holds"
kn "$B" export --out "$T/all-b.kbundle"
expect_rc 0 "B export without --since"
expect_text '^exported 5 entries' "$OUT" "B exports all it holds (its own 2 and A's 3)"
ok "export without --since exports everything"

# A cut-off file into a fresh node C: exit 1, saying so.
head -c -5 "$T/all-b.kbundle" >"$T/cut.kbundle"
kn "$C" import "$T/cut.kbundle"
expect_rc 1 "C imports a truncated file"
expect_text 'cut off|truncated' "$ERR" "the import of a truncated file says it was cut off"
head -c $(($(stat -c %s "$T/all-b.kbundle") / 2)) "$T/all-b.kbundle" >"$T/half.kbundle"
kn "$C" import "$T/half.kbundle"
expect_rc 1 "C imports half a file"
expect_text 'cut off|truncated' "$ERR" "the import of half a file says it was cut off"
kn "$C" log verify --every
expect_rc 0 "C log verify after the cut-off imports"
ok "a cut-off file: exit 1, 'cut off/truncated'; what was kept verifies"

kn "$C" clock --json
clock_before=$OUT
count_before=$(entry_count "$C")
head -c 4096 /dev/urandom >"$T/random.kbundle"
kn "$C" import "$T/random.kbundle"
expect_rc 1 "C imports random bytes"
expect_text 'not a kortnod export file' "$ERR" "random bytes are named as not an export file"
printf 'this is not a bundle\n' >"$T/text.kbundle"
kn "$C" import "$T/text.kbundle"
expect_rc 1 "C imports a text file"
[[ -n "$ERR" ]] || fail "importing a text file says nothing"
: >"$T/empty.kbundle"
kn "$C" import "$T/empty.kbundle"
expect_rc 1 "C imports an empty file"
expect_text 'not a kortnod export file' "$ERR" "an empty file is named as not an export file"
kn "$C" import "$T/no-such-file"
expect_rc 1 "C imports a missing file"
expect_text 'No such file' "$ERR" "a missing file is named"
kn "$C" clock --json
[[ "$OUT" == "$clock_before" ]] || fail "junk imports changed C's clock:
$clock_before
->
$OUT"
[[ "$(entry_count "$C")" == "$count_before" ]] || fail "junk imports stored entries"
[[ "$(clock_seq "$C" "$IDC")" == 0 ]] || fail "C's own feed is not empty"
ok "random bytes, text, a missing file: exit 1 with a message, nothing stored"

# The whole file into C afterwards completes it.
kn "$C" import "$T/all-b.kbundle"
expect_rc 0 "C imports the whole file"
[[ "$(clock_seq "$C" "$IDA")" == 3 && "$(clock_seq "$C" "$IDB")" == 2 ]] ||
    fail "after the whole file C's clock is not A:3 B:2"
ok "the whole file afterwards: C holds A:3 and B:2"

# Node ids in a clock file may be written in upper case: the same feeds, nothing sent twice.
kn "$B" clock --json
tr 'a-f' 'A-F' <<<"$OUT" >"$T/upper.json"
kn "$A" export --out "$T/upper.kbundle" --since "$T/upper.json"
expect_rc 0 "export --since an upper-case clock"
expect_text '^exported 0 entries' "$OUT" "an upper-case clock is the same clock"
ok "clock files are read whatever the case of their node ids"

kn "$A" export --out "$T/no-such-dir/x.kbundle"
expect_rc 1 "export into a missing directory"
printf '{"not":"hex"}' >"$T/bad-clock.json"
kn "$A" export --out "$T/x.kbundle" --since "$T/bad-clock.json"
expect_rc 1 "export --since a file that is not a clock"
[[ ! -e "$T/x.kbundle" ]] || fail "export with a bad --since wrote a file"
kn "$A" export --out "$T/x.kbundle" --since "$T/no-such.json"
expect_rc 1 "export --since a missing file"
ok "export failures exit 1"
