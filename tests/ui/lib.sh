# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034
#
# What the browser tests' scripts share (tests/ui/browser.sh, tests/reader/ui-browser.sh); the
# caller defines skip (print "SKIP: why", exit 77).
#
#   browser_setup    skip unless Debian's chromium, node and the npm packages of tests/ui are
#                    here; set CHROMIUM, UI_DIR (tests/ui) and ART (where screenshots go: $UI_ARTIFACTS
#                    or the build directory's tests/ui-artifacts)

UI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

browser_setup() {
    CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
    [[ -x "$CHROMIUM" ]] || skip "no chromium at $CHROMIUM (apt-get install chromium)"
    command -v node >/dev/null || skip "no node (apt-get install nodejs)"
    [[ -d "$UI_DIR/node_modules/playwright-core" && -d "$UI_DIR/node_modules/axe-core" ]] ||
        skip "no npm packages in tests/ui (bash .ci/install-deps, or npm ci there)"
    ART=${UI_ARTIFACTS:-$(dirname "$KORTNOD")/../tests/ui-artifacts}
    mkdir -p "$ART"
    ART=$(cd "$ART" && pwd)
}
