#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Five daemons (a hub and four offices) in a random connected topology: a random spanning tree
# plus random extra links, each link dialled by a random one of its two ends. While all run,
# every node appends 20 entries at once with the command line. Within 20 s all five clocks are
# identical (every feed at 20, the hub's with its 8 enrolment entries more), every log verifies
# and all five state digests are equal.
#
# The topology comes from a seed, printed; repeat one with SYNC_SEED=S.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/lib.sh"

SEED=${SYNC_SEED:-$(((RANDOM << 15) | RANDOM))}
echo "# seed $SEED (repeat with SYNC_SEED=$SEED)"
RANDOM=$SEED
PER_NODE=20

nodes=(n0 n1 n2 n3 n4)
new_hub n0
for n in n1 n2 n3 n4; do
    new_office "$n" n0
done
assign_ports "${nodes[@]}"

declare -A linked=()
link() {
    local x=$1 y=$2
    [[ -n "${linked[$x-$y]:-}" || $x == "$y" ]] && return 0
    linked[$x-$y]=1 linked[$y-$x]=1
    if ((RANDOM % 2)); then
        peer "$x" "$y"
        echo "# link $x -> $y"
    else
        peer "$y" "$x"
        echo "# link $y -> $x"
    fi
}
# A random spanning tree (each node joins one of those before it, in a shuffled order) ...
order=("${nodes[@]}")
for ((i = ${#order[@]} - 1; i > 0; i--)); do
    j=$((RANDOM % (i + 1)))
    tmp=${order[i]} order[i]=${order[j]} order[j]=$tmp
done
for ((i = 1; i < ${#order[@]}; i++)); do
    link "${order[$i]}" "${order[$((RANDOM % i))]}"
done
# ... and 0 to 3 extra links.
for ((k = RANDOM % 4; k > 0; k--)); do
    link "${nodes[$((RANDOM % 5))]}" "${nodes[$((RANDOM % 5))]}"
done

for n in "${nodes[@]}"; do
    start "$n"
done

# Every node appends at once, with small random pauses.
writers=()
for n in "${nodes[@]}"; do
    (
        RANDOM=$((SEED + ${n#n}))
        for ((i = 1; i <= PER_NODE; i++)); do
            "$KORTNOD" --data "$T/$n" log append --type test.mesh \
                --body "{\"n\":$i,\"node\":\"$n\"}" >/dev/null 2>>"$T/$n.append.log" ||
                { echo "log append #$i at $n failed" >>"$T/$n.append.log"; exit 1; }
            sleep "0.0$((RANDOM % 5))"
        done
    ) &
    writers+=($!)
    STARTED+=("$!")
done
t0=$(now_ms)
for i in "${!writers[@]}"; do
    wait "${writers[$i]}" || fail "the appends at ${nodes[$i]} failed (concurrently with the daemons):
$(cat "$T/${nodes[$i]}.append.log")"
done
t_appended=$(now_ms)
ok "5 x $PER_NODE entries appended concurrently in $((t_appended - t0)) ms"

deadline=$((t_appended + 20000))
until same_clocks "${nodes[@]}"; do
    (($(now_ms) < deadline)) || fail "the clocks still differ 20 s after the appends (seed $SEED)
$(show_clocks "${nodes[@]}")"
    sleep 0.1
done
ok "all five clocks identical $(($(now_ms) - t_appended)) ms after the last append"

# The hub n0's feed also holds its enrolments of the four offices (lib.sh: enrol).
c=$(clock_json n0)
for n in "${nodes[@]}"; do
    want=$((PER_NODE + ${ENROLS[$n]:-0}))
    [[ "$(seq_in "$c" "${NID[$n]}")" == "$want" ]] ||
        fail "the common clock does not hold $n's feed at $want: $c"
done
ok "the common clock holds all five feeds at $PER_NODE (n0's at $((PER_NODE + ENROLS[n0])) with the enrolments)"

d0=""
for n in "${nodes[@]}"; do
    kn "$T/$n" log verify --every
    expect_rc 0 "log verify --every at $n"
    expect_text "ok, $((5 * PER_NODE + ENROLS[n0])) entries checked" "$OUT" "$n holds every entry"
    kn "$T/$n" state digest
    expect_rc 0 "state digest at $n"
    [[ "$OUT" =~ ^[0-9a-f]{64}$ ]] || fail "state digest at $n printed '$OUT'"
    [[ -z "$d0" ]] && d0=$OUT
    [[ "$OUT" == "$d0" ]] || fail "state digest of $n is $OUT, of n0 $d0"
done
ok "every log verifies; the five state digests are equal ($d0)"

for n in "${nodes[@]}"; do
    stop "$n" TERM 5
    [[ "$STOP_RC" == 0 ]] || fail "$n exited with status $STOP_RC after SIGTERM"
done
ok "SIGTERM stops all five with status 0"
