#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Benchmark: the web interface against a hub whose log holds N real events (default 100,000:
# 40 offices, orders placed and shipped, written by tests/bench/ui_fill through the hub's own
# rules): the page's load time in headless chromium and each API call's latency, median and
# 99th percentile (tests/ui/bench_load.mjs). Needs chromium and tests/ui's npm packages.
#
#   KORTNOD=build-rel/node/kortnod bash tests/bench/ui.sh [N] [LOADS] [CALLS]
set -euo pipefail
N=${1:-100000}
LOADS=${2:-20}
CALLS=${3:-100}
TEST_NAME=bench-ui
set -- "$(dirname "$(realpath "$KORTNOD")")/../tests/field_gen_entries"
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
FILL=$(dirname "$(realpath "$KORTNOD")")/../tests/ui_fill
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$CHROMIUM" || ! -d "$HERE/../ui/node_modules/playwright-core" ]]; then
    echo "SKIP: no chromium or no npm packages in tests/ui (bash .ci/install-deps)"
    exit 77
fi
[[ -x "$FILL" ]] || fail "no ui_fill at $FILL"

t0=$(now_ms)
run "$FILL" "$T/hub" "$N"
expect_rc 0 "ui_fill"
echo "a hub with $OUT events made in $(($(now_ms) - t0)) ms"
assign_ports hub ui
"$KORTNOD" --data "$T/hub" run --listen "127.0.0.1:${PORT[hub]}" --ui "127.0.0.1:${PORT[ui]}" \
    >>"$T/hub.out" 2>>"$T/hub.log" &
DPID[hub]=$!
STARTED+=("$!")
wait_log hub "web interface on" 20 "the hub's web interface"
kn "$T/hub" ui --print
expect_rc 0 "kortnod ui"
node "$HERE/../ui/bench_load.mjs" --chromium "$CHROMIUM" \
    --link "$(head -1 <<<"$OUT")" --loads "$LOADS" --calls "$CALLS"
