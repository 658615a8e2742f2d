#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Benchmark: how long from putting a card in the reader until kortnod knows who it is, on the
# real pcscd with vpcd and the virtual card (tests/reader/). N times (default 100): the card is
# inserted, `kortnod reader watch --json` reports card-inserted with its identity, the card is
# removed and the removal seen. Prints median, 90th percentile and maximum of
#   insert -> identity   (the whole wait at the hand-over table)
#   insert -> seen       (pcscd noticing the card; vpcd is polled about every 400 ms)
#   seen -> identity     (kortnod's reading: CPLC, PKCS#15 directory files, the certificate)
#
#   KORTNOD=build-rel/node/kortnod bash tests/bench/reader.sh [N]
# (tests/reader/lib.sh finds vcard and apdu beside the kortnod binary's build directory.)
set -euo pipefail
N=${1:-100}
TEST_NAME=bench-reader
# shellcheck source=tests/reader/lib.sh
source "$(dirname "$0")/../reader/lib.sh"

reader_setup
make_cert "Bench Person" SE2321000016-BENCH
vcard_start --cert "$CERT" --cplc "$(cplc_hex 4790504000BE0C11)"
"$KORTNOD" --data "$T/none" reader watch --json >"$T/watch.out" 2>"$T/watch.err" &
WATCH=$!
STARTED+=("$WATCH")

# wait_event EVENT COUNT - until the watch printed COUNT lines of EVENT.
wait_event() {
    local deadline=$(($(now_ms) + 15000))
    until (($(grep -c "\"event\":\"$1\"" "$T/watch.out" || true) >= $2)); do
        alive "$WATCH" || fail "reader watch exited: $(cat "$T/watch.err")"
        (($(now_ms) < deadline)) || fail "no $1 number $2 within 15 s"
        sleep 0.005
    done
}

wait_event reader-added 2
: >"$T/times"
for ((i = 1; i <= N; i++)); do
    t0=$(now_ms)
    vcard insert
    wait_event card-inserted "$i"
    line=$(grep '"event":"card-inserted"' "$T/watch.out" | sed -n "${i}p")
    python3 - "$line" "$t0" >>"$T/times" <<'EOF'
import json, sys
e = json.loads(sys.argv[1])
assert e["chip"] == "4790504000BE0C11" and e["hsa_id"] == "SE2321000016-BENCH", e
t0 = int(sys.argv[2])
print(e["at_ms"] - t0, e["seen_ms"] - t0, e["at_ms"] - e["seen_ms"])
EOF
    vcard remove
    wait_event card-removed "$i"
    ((i % 20 == 0)) && echo "  $i of $N inserts" >&2
done
kill -INT "$WATCH"
wait "$WATCH" || true
python3 - "$T/times" <<'EOF'
import statistics, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1])]
def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]
print(f"reader: {len(rows)} inserts of a virtual card (pcscd + vpcd), ms")
for i, name in enumerate(["insert -> identity", "insert -> seen", "seen -> identity"]):
    xs = [r[i] for r in rows]
    print(f"  {name:<20} median {statistics.median(xs):7.1f}  p90 {q(xs, 0.9):5d}  max {max(xs):5d}")
EOF
