#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Benchmark: the field paths (issue 8).
#   bundles  N entries (default 100,000; payloads of --pad bytes, about a real event's size):
#            sealed bundle size per entry and over the plain export, export time, import speed
#            into a node with no daemon and into one whose daemon runs
#   LAN      R times (default 20) two offices start at once on one network (namespaces made
#            here, or loopback where they cannot be made, which it says): the time from the
#            second start until both have found each other; median, 90th percentile, maximum
#
#   KORTNOD=build-rel/node/kortnod bash tests/bench/field.sh [N] [R] [PAD]
# (gen_entries is found beside the kortnod binary's build directory, as the sync tests find it.)
set -euo pipefail
N=${1:-100000}
R=${2:-20}
PAD=${3:-200}
TEST_NAME=bench-field
set -- "$(dirname "$(realpath "$KORTNOD")")/../tests/field_gen_entries"
# shellcheck source=tests/field/lib.sh
source "$(dirname "$0")/../field/lib.sh"
[[ -x "$GEN_ENTRIES" ]] || fail "no gen_entries helper at '$GEN_ENTRIES'"

# pct P VALUES... - the P-th percentile (nearest rank) of the values.
pct() {
    local p=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v p="$p" '{v[NR]=$1} END {i=int((p*NR+99)/100); if(i<1)i=1; print v[i]}'
}

echo "== bundles: $N entries, payload ~$PAD bytes"
new_hub hub
new_office far hub
new_office cold hub
new_office warm hub
run "$GEN_ENTRIES" "$T/far" "$N" --pad "$PAD" --tx 10000 --type test.bench
expect_rc 0 "gen_entries"
# The importing offices hold the hub's feed (their enrolment, far's), as real offices do.
kn "$T/hub" export --out "$T/hub.kn"
for x in cold warm; do
    kn "$T/$x" import "$T/hub.kn"
    expect_rc 0 "the hub's feed at $x"
done
kn "$T/hub" clock --out "$T/hub.clock"
t0=$(now_ms)
kn "$T/far" bundle export --for "$T/hub.clock" --out "$T/far.knb"
expect_rc 0 "bundle export"
export_ms=$(($(now_ms) - t0))
kn "$T/far" export --since "$T/hub.clock" --out "$T/far.plain"
expect_rc 0 "plain export"
sealed=$(stat -c %s "$T/far.knb")
plain=$(stat -c %s "$T/far.plain")
awk -v s="$sealed" -v p="$plain" -v n="$N" 'BEGIN {
    printf "sealed bundle: %d bytes, %.1f bytes per entry; plain export %d bytes (+%.2f %%)\n",
        s, s / n, p, (s - p) * 100 / p }'
echo "export: $export_ms ms ($((N * 1000 / (export_ms ? export_ms : 1))) entries/s)"
t0=$(now_ms)
kn "$T/cold" bundle import "$T/far.knb"
expect_rc 0 "bundle import, no daemon"
ms=$(($(now_ms) - t0))
echo "import, no daemon: $ms ms ($((N * 1000 / (ms ? ms : 1))) entries/s, with the domain pass)"
assign_ports warm
MODE=loopback
begin warm
t0=$(now_ms)
kn "$T/warm" bundle import "$T/far.knb"
expect_rc 0 "bundle import, daemon running"
ms=$(($(now_ms) - t0))
echo "import while the daemon runs: $ms ms ($((N * 1000 / (ms ? ms : 1))) entries/s)"
stop warm TERM 20

echo "== LAN discovery: $R runs"
if netns_make x y; then
    MODE=netns
    echo "two hosts in network namespaces (multicast)"
else
    MODE=loopback
    echo "network namespaces cannot be made here ($WHY): on loopback (broadcast) instead"
fi
times=()
for ((i = 1; i <= R; i++)); do
    for x in x y; do
        rm -rf "${T:?}/$x" "$T/$x.log"
        new_unenrolled "$x" hub # discovery needs no enrolment
        [[ $MODE == loopback ]] && echo "lan = on" >>"$T/$x/kortnod.conf"
    done
    [[ $MODE == loopback ]] && assign_ports x y
    begin x
    t0=$(now_ms)
    begin y
    wait_log x "LAN: found node ${NID[y]:0:8}" 10 "x finds y"
    wait_log y "LAN: found node ${NID[x]:0:8}" 10 "y finds x"
    # Each daemon says when it found the other, counted from its own start.
    fx=$(sed -n 's/.*LAN: found node [0-9a-f]*… ([a-z]*) at [0-9.:]*, \([0-9]*\) ms after start.*/\1/p' "$T/x.log")
    fy=$(sed -n 's/.*LAN: found node [0-9a-f]*… ([a-z]*) at [0-9.:]*, \([0-9]*\) ms after start.*/\1/p' "$T/y.log")
    sx=$(grep -m1 -o '^[0-9T:.-]*Z info  node' "$T/x.log" | cut -c12-23)
    sy=$(grep -m1 -o '^[0-9T:.-]*Z info  node' "$T/y.log" | cut -c12-23)
    # Both found, from y's start: y's own figure, and x's figure less the gap between starts.
    gap=$(python3 -c 'import sys
def ms(t): h, m, s = t.split(":"); return int((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)
print(ms(sys.argv[2]) - ms(sys.argv[1]))' "$sx" "$sy")
    both=$((fx - gap > fy ? fx - gap : fy))
    times+=("$both")
    stop x TERM 10
    stop y TERM 10
done
echo "both found, from the second start (log timestamps, 1 ms resolution):" \
    "median $(pct 50 "${times[@]}") ms, p90 $(pct 90 "${times[@]}") ms, max $(pct 100 "${times[@]}") ms" \
    "($MODE, $R runs)"
