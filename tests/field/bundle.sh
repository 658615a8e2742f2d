#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Sneakernet: sealed bundles by USB stick or post. An office that is never online and the hub
# converge by carrying files both ways: the office's clock goes to the hub (`clock --out`), the
# hub makes a bundle of what the office lacks (`bundle export --for`), the office imports it and
# sends a bundle of its own back. A bundle reveals nothing without the network key; a bundle
# imported twice changes nothing; a cut-off bundle, an altered one and one from another network
# are refused whole, saying why, and change nothing.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

new_hub hub
new_office far hub
kn "$T/hub" order place --order A1 --care-provider region --office far --card-type siths-e \
    --holder "Secret Holdername"
expect_rc 0 "order place"
kn "$T/hub" card ship --order A1 --serial SN-UNIQUE-7731 --rek RR1SE
expect_rc 0 "card ship"

# The office's clock travels to the hub; the hub's bundle for it travels back.
kn "$T/far" clock --out "$T/far.clock"
expect_rc 0 "clock --out"
kn "$T/hub" bundle export --for "$T/far.clock" --out "$T/usb/to-far.knb"
expect_rc 1 "bundle export into a directory that does not exist"
mkdir -p "$T/usb"
kn "$T/hub" bundle export --for "$T/far.clock" --out "$T/usb/to-far.knb"
expect_rc 0 "bundle export --for the office's clock"
expect_text "sealed with the network key" "$OUT" "bundle export"
! grep -aq "SN-UNIQUE-7731\|order.placed\|card.shipped" "$T/usb/to-far.knb" ||
    fail "the bundle shows its contents in clear"
kn "$T/hub" export --out "$T/plain.kn"
grep -aq "SN-UNIQUE-7731" "$T/plain.kn" || fail "the plain export does not hold the serial: the check above proves nothing"
ok "a bundle for the office's clock: nothing of it readable on the stick (the plain export is)"

before=$(seq_of far hub)
# cut off, altered, another network: refused whole, nothing changes
size=$(stat -c %s "$T/usb/to-far.knb")
head -c $((size - 10)) "$T/usb/to-far.knb" >"$T/cut.knb"
kn "$T/far" bundle import "$T/cut.knb"
expect_rc 1 "a cut-off bundle"
expect_text "cut off.*nothing was imported" "$ERR" "a cut-off bundle"
cp "$T/usb/to-far.knb" "$T/altered.knb"
printf '\x55' | dd of="$T/altered.knb" bs=1 seek=$((size / 2)) conv=notrunc status=none
kn "$T/far" bundle import "$T/altered.knb"
expect_rc 1 "an altered bundle"
expect_text "does not authenticate.*nothing was imported" "$ERR" "an altered bundle"
new_hub other
kn "$T/other" bundle export --all --out "$T/other.knb"
expect_rc 0 "another network's bundle"
kn "$T/far" bundle import "$T/other.knb"
expect_rc 1 "a bundle of another network"
expect_text "not of this network" "$ERR" "a bundle of another network"
kn "$T/far" bundle import "$T/plain.kn"
expect_rc 1 "a plain export given as a bundle"
expect_text "not a kortnod bundle" "$ERR" "a plain export"
[[ "$(seq_of far hub)" == "$before" ]] || fail "a refused bundle changed the office's log"
ok "cut off, altered, another network's, not a bundle: each refused, saying why; nothing changed"

kn "$T/far" bundle import "$T/usb/to-far.knb"
expect_rc 0 "bundle import at the office"
[[ "$(seq_of far hub)" == "$(seq_of hub hub)" ]] || fail "the office lacks the hub's entries"
kn "$T/far" bundle import "$T/usb/to-far.knb"
expect_rc 0 "the same bundle again"
expect_text " 0 new" "$OUT" "the same bundle again"
ok "imported; the same bundle again changes nothing ($OUT)"

kn "$T/far" card notice --order A1
expect_rc 0 "the office records the notice"
kn "$T/hub" clock --out "$T/hub.clock"
kn "$T/far" bundle export --for "$T/hub.clock" --out "$T/usb/to-hub.knb"
expect_rc 0 "the office's bundle for the hub"
kn "$T/hub" bundle import "$T/usb/to-hub.knb"
expect_rc 0 "bundle import at the hub"
kn "$T/hub" state digest
d=$OUT
kn "$T/far" state digest
[[ "$OUT" == "$d" ]] || fail "the round trip did not converge: $d / $OUT"
ls "$T/far"/.bundle-* "$T/hub"/.bundle-* >/dev/null 2>&1 && fail "a plain temporary file was left in a data directory"
ok "one round trip by stick: the hub and the never-online office hold the same state"
