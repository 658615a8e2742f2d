#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Live replication between two running daemons: B dials A (peer add); an entry appended with the
# command line at A while both run is at B within 1 s, and one appended at B is at A within 1 s
# (clocks polled every 50 ms; the latencies are printed). Then SIGTERM stops both with exit
# status 0 and their logs say so.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/lib.sh"

new_hub a
new_office b a
assign_ports a b
peer b a
start a
start b
wait_log a 'secure connection with node' 10 "A accepts B"
wait_log b 'secure connection with node' 10 "B connects to A"
ok "B dialled A: secure connection on both sides"

# latency FROM TO ROUND - append one entry at FROM, measure until TO's clock holds it.
latency() {
    local from=$1 to=$2 round=$3 want t_appended
    want=$(($(seq_of "$from" "$from") + 1))
    kn "$T/$from" log append --type test.live --body "{\"n\":$round}"
    expect_rc 0 "log append at $from while the daemons run"
    expect_text "^appended seq $want," "$OUT" "the append at $from"
    t_appended=$(now_ms)
    wait_seq "$to" "$from" "$want" 5 "$from's entry $want reaches $to"
    LAT=$(($(now_ms) - t_appended))
    echo "# latency $from -> $to (entry $want): $LAT ms"
    ((LAT <= 1000)) || fail "$from's entry $want reached $to after $LAT ms, more than 1 s"
}

max_ab=0 max_ba=0
for round in 1 2 3; do
    latency a b "$round"
    ((LAT > max_ab)) && max_ab=$LAT
    latency b a "$round"
    ((LAT > max_ba)) && max_ba=$LAT
done
ok "an entry appended at A is at B within 1 s (worst of 3: $max_ab ms)"
ok "an entry appended at B is at A within 1 s (worst of 3: $max_ba ms)"

same_clocks a b || fail "the clocks differ after the exchange
$(show_clocks a b)"
# The 6 appended entries and the hub's enrolment of B (lib.sh: enrol).
total=$((6 + ENROLS[a]))
for n in a b; do
    kn "$T/$n" log verify --every
    expect_rc 0 "log verify --every at $n"
    expect_text "ok, $total entries checked" "$OUT" "$n holds the $total entries"
done
ok "A and B hold the same $total entries (6 appended, ${ENROLS[a]} of the enrolment), every signature good"

for n in a b; do
    stop "$n" TERM 5
    [[ "$STOP_RC" == 0 ]] || fail "$n exited with status $STOP_RC after SIGTERM"
    log_has "$n" 'signal 15: saying goodbye' || fail "$n's log does not show the SIGTERM"
    log_has "$n" 'info +stopped$' || fail "$n's log does not end with 'stopped'"
    ok "SIGTERM: $n exits 0 in $STOP_MS ms, its log shows the stop"
done
echo "# latency A->B worst ${max_ab} ms, B->A worst ${max_ba} ms"
