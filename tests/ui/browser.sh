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

# shellcheck source=tests/ui/lib.sh
source "$(dirname "$0")/lib.sh"
skip() {
    echo "SKIP: $*"
    exit 77
}
browser_setup

office_with_card hub o A1
assign_ports hub o ui_hub ui_o other
start hub "${PORT[ui_hub]}"
wait_log hub "web interface on" 10 "the hub's web interface"
peer o hub
start o "${PORT[ui_o]}"
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

node "$UI_DIR/browser.mjs" \
    --chromium "$CHROMIUM" --artifacts "$ART" \
    --office "$LINK_O" --hub "$LINK_HUB" --other "http://127.0.0.1:${PORT[other]}/" ||
    fail "the browser test failed (screenshots in $ART)"
kn "$T/hub" bundle import "$ART/bundle-for-the-hub.knb"
expect_rc 0 "the hub imports the file the page saved"
expect_text "made by node ${NID[o]:0:8}" "$OUT" "the page's bundle"
ok "the hub imports the sealed file the office's page saved"
wait_seq hub o "$(seq_of o o)" 15 "what the browser recorded reaches the hub"
ok "what was recorded in the browser reached the hub; screenshots in $ART"
