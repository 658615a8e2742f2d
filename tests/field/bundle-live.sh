#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A large bundle imported while the daemon runs: progress is shown as it goes, the daemon keeps
# serving its peers (they get the new entries live, through it), and nothing in its log says the
# database was busy or locked.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

N=${FIELD_BUNDLE_ENTRIES:-20000}
[[ -x "$GEN_ENTRIES" ]] || fail "no gen_entries helper at '$GEN_ENTRIES'"
new_hub hub
new_office far hub
new_office o1 hub
run "$GEN_ENTRIES" "$T/far" "$N" --pad 500 --tx 5000 --type test.field
expect_rc 0 "gen_entries at far"
kn "$T/hub" clock --out "$T/hub.clock"
expect_rc 0 "the hub's clock"
kn "$T/far" bundle export --for "$T/hub.clock" --out "$T/far.knb"
expect_rc 0 "far's bundle"
expect_text "bundle $T/far.knb: $N entries" "$OUT" "far's bundle"
size=$(stat -c %s "$T/far.knb")

assign_ports hub o1
start hub
peer o1 hub
start o1
wait_log o1 "secure connection with node ${NID[hub]:0:8}" 10 "o1 connects to the hub"

t0=$(now_ms)
kn "$T/hub" bundle import "$T/far.knb" --progress
expect_rc 0 "bundle import at the hub while its daemon runs"
ms=$(($(now_ms) - t0))
expect_text "$N new" "$OUT" "bundle import"
lines=$(grep -c "^import: [0-9]*% (.* MiB), [0-9]* entries, [0-9]* entries/s$" <<<"$ERR" || true)
((lines >= 3)) || fail "bundle import --progress showed $lines progress lines:
$ERR"
expect_text "^import: 100% " "$ERR" "the last progress line"
ok "$N entries ($size bytes, $((size / N)) bytes per entry) imported in $ms ms while the daemon ran, with $lines progress lines"

wait_seq o1 far "$N" 60 "the imported entries reach o1 through the hub's running daemon"
! log_has hub "locked|busy" || fail "the hub's daemon found the database busy during the import"
alive "${DPID[hub]}" || fail "the hub's daemon died"
ok "the hub's daemon kept serving: o1 got all $N entries live ($WAITED_MS ms after the import)"
