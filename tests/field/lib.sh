# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034
#
# Helpers of the field tests that need hosts on a network (tests/field/lan.sh,
# tests/bench/field.sh), on top of tests/sync/lib.sh: network namespaces made by the test (ip
# netns + veth on one bridge), removed on exit, and daemons started in them, or on loopback
# where namespaces cannot be made.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sync/lib.sh"

NETNS=()
netns_cleanup() {
    local ns
    for ns in "${NETNS[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}
lan_cleanup() {
    local rc=$?
    netns_cleanup
    sync_cleanup "$rc"
}
trap lan_cleanup EXIT

# netns_make NAME... - a bridge namespace and one namespace per NAME on it, NAME's address in
# ADDR[NAME]; fails (returns 1) with the reason in WHY when namespaces cannot be made.
declare -A ADDR=() NS=()
netns_make() {
    local br="kn$$-br" i=2 name err
    if [[ "${KORTNOD_TEST_LAN:-}" == loopback ]]; then
        WHY="KORTNOD_TEST_LAN=loopback"
        return 1
    fi
    command -v ip >/dev/null || {
        WHY="no ip command (iproute2)"
        return 1
    }
    if ! err=$(ip netns add "$br" 2>&1); then
        WHY="ip netns add: $err"
        return 1
    fi
    NETNS+=("$br")
    ip -n "$br" link add br0 type bridge && ip -n "$br" link set br0 up || {
        WHY="cannot make a bridge"
        return 1
    }
    for name in "$@"; do
        NS[$name]="kn$$-$name"
        ip netns add "${NS[$name]}" || return 1
        NETNS+=("${NS[$name]}")
        ip link add v0 netns "${NS[$name]}" type veth peer name "p$i" netns "$br" &&
            ip -n "$br" link set "p$i" master br0 up &&
            ip -n "${NS[$name]}" addr add "10.71.0.$i/24" dev v0 &&
            ip -n "${NS[$name]}" link set v0 up &&
            ip -n "${NS[$name]}" link set lo up || {
            WHY="cannot make the veth pair of $name"
            return 1
        }
        ADDR[$name]="10.71.0.$i"
        i=$((i + 1))
    done
}

# begin NAME - start NAME's daemon on its host: in its namespace on ADDR:7117, or on loopback.
begin() {
    local name=$1 where
    if [[ $MODE == netns ]]; then
        where="${ADDR[$name]}:7117"
        ip netns exec "${NS[$name]}" "$KORTNOD" --data "$T/$name" run --listen "$where" --ui off \
            --log-level debug >>"$T/$name.out" 2>>"$T/$name.log" &
    else
        where="127.0.0.1:${PORT[$name]}"
        "$KORTNOD" --data "$T/$name" run --listen "$where" --ui off --log-level debug \
            >>"$T/$name.out" 2>>"$T/$name.log" &
    fi
    DPID[$name]=$!
    STARTED+=("$!")
    wait_log "$name" "listening on $where" 10 "the daemon of $name"
}

