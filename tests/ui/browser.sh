#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The web interface in a real browser: Debian's chromium, headless, driven by playwright-core
# (tests/ui/browser.mjs), against real daemons: a hub and an office with a real database, the
# office's card shipped by the hub. Screenshots of each page go to $UI_ARTIFACTS (default: the
# build directory's tests/ui-artifacts), kept after the test.
#
# Skips (77) with the reason when chromium, node or the npm packages are missing (the install
# script installs them: .ci/install-deps).
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
skip() {
    echo "SKIP: $*"
    exit 77
}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -x "$CHROMIUM" ]] || skip "no chromium at $CHROMIUM (apt-get install chromium)"
command -v node >/dev/null || skip "no node (apt-get install nodejs)"
[[ -d "$HERE/node_modules/playwright-core" && -d "$HERE/node_modules/axe-core" ]] ||
    skip "no npm packages in tests/ui (bash .ci/install-deps, or npm ci there)"
ART=${UI_ARTIFACTS:-$(dirname "$KORTNOD")/../tests/ui-artifacts}
mkdir -p "$ART"
ART=$(cd "$ART" && pwd)

new_hub hub
new_office o hub
for a in 1 2; do
    kn "$T/hub" office admin-add --office o --admin "o-admin$a" --name "Admin $a"
    expect_rc 0 "admin $a"
done
kn "$T/hub" order place --order A1 --care-provider region --office o --card-type siths-e
expect_rc 0 "order A1"
kn "$T/hub" card ship --order A1 --serial SN-A1 --rek RR-A1
expect_rc 0 "card ship A1"
assign_ports hub o ui_hub ui_o other
"$KORTNOD" --data "$T/hub" run --listen "127.0.0.1:${PORT[hub]}" --ui "127.0.0.1:${PORT[ui_hub]}" \
    --log-level debug >>"$T/hub.out" 2>>"$T/hub.log" &
DPID[hub]=$!
STARTED+=("$!")
wait_log hub "web interface on" 10 "the hub's web interface"
peer o hub
"$KORTNOD" --data "$T/o" run --listen "127.0.0.1:${PORT[o]}" --ui "127.0.0.1:${PORT[ui_o]}" \
    --log-level debug >>"$T/o.out" 2>>"$T/o.log" &
DPID[o]=$!
STARTED+=("$!")
wait_log o "web interface on" 10 "the office's web interface"
wait_seq o hub "$(seq_of hub hub)" 15 "the office gets the hub's entries"

kn "$T/o" ui --print
expect_rc 0 "kortnod ui at the office"
LINK_O=$(head -1 <<<"$OUT")
kn "$T/hub" ui --print
expect_rc 0 "kortnod ui at the hub"
LINK_HUB=$(head -1 <<<"$OUT")

# A page of another origin (another port), for the cross-origin checks.
mkdir -p "$T/other"
echo '<!doctype html><html lang="en"><head><title>other</title></head><body>other</body></html>' \
    >"$T/other/index.html"
python3 -m http.server "${PORT[other]}" --bind 127.0.0.1 --directory "$T/other" \
    >"$T/other.log" 2>&1 &
STARTED+=("$!")

node "$HERE/browser.mjs" \
    --chromium "$CHROMIUM" --artifacts "$ART" \
    --office "$LINK_O" --hub "$LINK_HUB" --other "http://127.0.0.1:${PORT[other]}/" ||
    fail "the browser test failed (screenshots in $ART)"
kn "$T/hub" bundle import "$ART/bundle-for-the-hub.knb"
expect_rc 0 "the hub imports the file the page saved"
expect_text "made by node ${NID[o]:0:8}" "$OUT" "the page's bundle"
ok "the hub imports the sealed file the office's page saved"
wait_seq hub o "$(seq_of o o)" 15 "what the browser recorded reaches the hub"
ok "what was recorded in the browser reached the hub; screenshots in $ART"
