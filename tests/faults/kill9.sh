#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kill -9 everywhere. A hub H and the offices A and B (A dials H and B, B dials H) each hold a few
# thousand entries of their own (gen_entries) when their daemons start. Then:
#  1. during the catch-up, daemons are killed with SIGKILL at random moments and restarted;
#  2. in live sync, command-line writers append at every node (log append, and the domain steps
#     order place at H and catalogue add at A) while daemons are killed and restarted, and other
#     writers are themselves killed with SIGKILL in the middle of their write, in a loop;
#  3. once the killing stops and every daemon runs again, the clocks converge; after a clean stop
#     `log verify --every` passes at every node, every write that reported success (exit 0) is
#     held by every node with the hash its writer was given, and the state digests are equal.
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"

NODES=(h a b)
new_hub h
new_office a h
new_office b h
declare -A GEN=([h]=16000 [a]=12000 [b]=12000)
for x in "${NODES[@]}"; do
    run "$GEN_ENTRIES" "$T/$x" "${GEN[$x]}" --pad 300 --tx 1000
    expect_rc 0 "gen_entries: ${GEN[$x]} entries at $x"
done
assign_ports "${NODES[@]}"
peer a h
peer a b
peer b h
ok "H, A and B hold ${GEN[h]}, ${GEN[a]} and ${GEN[b]} entries of their own, none of the others'"

# kill_daemon NAME - SIGKILL NAME's daemon (it must die of it), then start it again after a
# random pause.
KILLS=0
kill_daemon() {
    check_alive "${NODES[@]}"
    stop "$1" KILL 5
    [[ $STOP_RC == 137 ]] || fail "the daemon of $1 ended with status $STOP_RC, not by SIGKILL"
    KILLS=$((KILLS + 1))
    rnd 0 200
    msleep "$R"
    start "$1"
}

# ---- 1. the catch-up ----
for x in "${NODES[@]}"; do
    start "$x"
done
early=0
for round in 1 2 3 4 5 6 7 8; do
    rnd 30 250
    msleep "$R"
    rnd 0 2
    victim=${NODES[$R]}
    same_clocks "${NODES[@]}" || early=$((early + 1))
    echo "# catch-up, kill $round: $victim"
    kill_daemon "$victim"
done
((early >= 4)) || fail "only $early of 8 kills came before the clocks met: the catch-up was too quick to be hit"
wait_converged 60 "the catch-up after the kills" "${NODES[@]}"
ok "catch-up: 8 daemons killed with SIGKILL at random moments ($early before the clocks met) and restarted; the clocks meet $WAITED_MS ms after the last restart"

# ---- 2. live sync, writers ----
# writer NAME COUNT KIND - COUNT writes at NAME, one command each (KIND log: log append; order:
# order place; catalogue: catalogue add); every success is acknowledged in $ACKED. A failure
# must be an error message and exit status 1 (counted in $T/failed.NAME.KIND), never a crash.
writer() {
    local name=$1 count=$2 kind=$3 i rc out=$T/w.$1.$3.out err=$T/w.$1.$3.err
    for ((i = 1; i <= count; i++)); do
        rc=0
        case $kind in
        log)
            "$KORTNOD" --data "$T/$name" log append --type test.fault \
                --body "{\"w\":\"$name\",\"i\":$i}" >"$out" 2>"$err" || rc=$?
            ;;
        order)
            "$KORTNOD" --data "$T/$name" order place --order "O-$i" --office a \
                --care-provider vc-a --card-type siths-e >"$out" 2>"$err" || rc=$?
            ;;
        catalogue)
            "$KORTNOD" --data "$T/$name" catalogue add --entry "E-$i" --office a \
                --person "Person $i" --unit "Unit $i" >"$out" 2>"$err" || rc=$?
            ;;
        esac
        if ((rc == 0)); then
            ack_from "$name" "$out" || fail "writer $name $kind #$i: exit 0 but no seq in: $(cat "$out")"
        elif ((rc == 1)) && grep -q '^kortnod: ' "$err"; then
            cat "$err" >>"$T/failed.$name.$kind"
        else
            fail "writer $name $kind #$i: exit status $rc
$(cat "$err")"
        fi
    done
}

# How long one write takes here (ASan makes it slow): the killed writers are killed within that.
t0=$(now_ms)
for i in 1 2 3 4 5; do
    kn "$T/a" log append --type test.timing --body "{\"i\":$i}"
    expect_rc 0 "log append at a (timing)"
    ack_from a "$T/.out" || fail "log append at a printed no seq: $OUT"
done
WRITE_MS=$((($(now_ms) - t0) / 5))
echo "# one log append takes about $WRITE_MS ms"

# killed_writer NAME COUNT KIND - COUNT writes as writer does, each SIGKILLed at a random moment
# within twice WRITE_MS: most die on the way (status 137), some finish first and
# are acknowledged.
killed_writer() {
    local name=$1 count=$2 kind=$3 i rc pid out=$T/k.$1.$3.out err=$T/k.$1.$3.err
    local killed=0
    for ((i = 1; i <= count; i++)); do
        if [[ $kind == log ]]; then
            "$KORTNOD" --data "$T/$name" log append --type test.killed \
                --body "{\"k\":\"$name\",\"i\":$i}" >"$out" 2>"$err" &
        else
            "$KORTNOD" --data "$T/$name" order place --order "K-$i" --office a \
                --care-provider vc-a --card-type siths-e >"$out" 2>"$err" &
        fi
        pid=$!
        rnd 0 $((WRITE_MS * 2))
        msleep "$R"
        kill -KILL "$pid" 2>/dev/null || true
        rc=0
        wait "$pid" || rc=$?
        if ((rc == 137)); then
            killed=$((killed + 1))
        elif ((rc == 0)); then
            ack_from "$name" "$out" || fail "killed writer $name #$i: exit 0 but no seq in: $(cat "$out")"
        elif ((rc == 1)) && grep -q '^kortnod: ' "$err"; then
            cat "$err" >>"$T/failed.$name.killed-$kind"
        else
            fail "killed writer $name $kind #$i: exit status $rc
$(cat "$err")"
        fi
    done
    echo "$killed" >"$T/killed.$name.$kind"
}

WPIDS=()
writer h 30 log &
WPIDS+=($!)
writer a 30 log &
WPIDS+=($!)
writer b 30 log &
WPIDS+=($!)
writer h 15 order &
WPIDS+=($!)
writer a 15 catalogue &
WPIDS+=($!)
killed_writer a 40 log &
WPIDS+=($!)
killed_writer h 30 order &
WPIDS+=($!)
STARTED+=("${WPIDS[@]}")

# Daemons die while the writers write, until every writer is done (at least 5 kills).
live_kills=0
deadline=$(($(now_ms) + 90000))
while :; do
    running=0
    for pid in "${WPIDS[@]}"; do
        alive "$pid" && running=$((running + 1))
    done
    ((running > 0 || live_kills < 5)) || break
    (($(now_ms) < deadline)) || fail "the writers did not finish within 90 s"
    rnd 100 600
    msleep "$R"
    rnd 0 2
    echo "# live, kill $((live_kills + 1)): ${NODES[$R]} ($running writers running)"
    kill_daemon "${NODES[$R]}"
    live_kills=$((live_kills + 1))
done
for pid in "${WPIDS[@]}"; do
    wait "$pid" || fail "a writer failed (status $?): see above"
done
acked=$(wc -l <"$ACKED")
killed=$(cat "$T"/killed.*)
killed=$((${killed//$'\n'/+}))
failed=0
for f in "$T"/failed.*; do
    [[ -e "$f" ]] && failed=$((failed + $(wc -l <"$f")))
done
((killed > 0)) || fail "no writer was killed in the middle of its write"
# Killed appends that had committed before the kill are whole entries like any other.
kept=$(python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e["type"] == "test.killed"))' \
    < <("$KORTNOD" --data "$T/a" log show --author "${NID[a]}" --json))
((acked > 100)) || fail "only $acked writes were acknowledged"
if ((failed > 0)); then
    echo "# $failed writes failed cleanly (exit 1); their messages:"
    sort "$T"/failed.* | uniq -c | sed 's/^/#   /'
fi
ok "live: $live_kills daemons killed with SIGKILL while $acked writes were acknowledged, $killed writers killed mid-write ($kept of A's killed appends had committed), $failed writes refused cleanly"

# ---- 3. everything runs again: convergence, nothing lost, nothing damaged ----
wait_converged 60 "live sync after the kills" "${NODES[@]}"
ok "every daemon runs again: the clocks meet after $WAITED_MS ms"
for x in "${NODES[@]}"; do
    stop "$x" TERM 10
    [[ $STOP_RC == 0 ]] || fail "$x exited with status $STOP_RC after SIGTERM"
done
same_clocks "${NODES[@]}" || fail "the clocks differ after the daemons stopped
$(show_clocks "${NODES[@]}")"
verify_every "${NODES[@]}"
ok "log verify --every passes at H, A and B ($VERIFIED entries each)"
check_acked "${NODES[@]}"
ok "all $ACK_COUNT acknowledged writes are held by H, A and B with the hashes their writers were given"
same_digests "${NODES[@]}"
ok "H, A and B have the same clock and the same state digest ($DIGEST)"
