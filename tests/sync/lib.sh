# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034
#
# Helpers of the network sync tests (tests/sync/*.sh), on top of tests/cli/lib.sh: nodes in
# $T/NAME, daemons (`kortnod run`) on free ports of 127.0.0.1 logging at debug level into
# $T/NAME.log, every process a test starts killed on exit, and every daemon log printed when the
# test fails.

# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"

command -v python3 >/dev/null || fail "python3 is needed"
# A failure inside $(...) ends the test too (fail in a command substitution only leaves it).
shopt -s inherit_errexit

# tests/meson.build passes the gen_entries helper (tests/sync/gen_entries.c) as the argument.
GEN_ENTRIES=$(realpath -m "${1:-$(dirname "$KORTNOD")/../tests/gen_entries}")

# Processes this test started, by pid (all killed on exit).
STARTED=()
declare -A DPID=() # NAME -> pid of its running daemon
declare -A PORT=() # NAME -> its port
declare -A NID=()  # NAME -> its node id
# Entries `enrol` writes into the hub's own feed per office (office.registered, node.bound), and
# how many it wrote into each hub's feed so far (HUB -> count): every exact count of a hub's feed
# in the tests adds ENROLS[HUB].
ENROL_ENTRIES=2
declare -A ENROLS=()

sync_cleanup() {
    local rc=${1:-$?} pid f # a caller's own EXIT trap passes the status
    trap - EXIT
    for pid in "${STARTED[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $rc != 0 ]]; then
        for f in "$T"/*.log; do
            [[ -e "$f" ]] || continue
            echo "---- $(basename "$f") (last 200 lines) ----" >&2
            tail -n 200 "$f" >&2
        done
        echo "FAIL [$TEST_NAME]: exit status $rc (temporary directory removed: $T)" >&2
    fi
    [[ -n "${KEEP_T:-}" ]] || rm -rf "$T"
    exit "$rc"
}
trap sync_cleanup EXIT

# now_ms - milliseconds since the epoch.
now_ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}

# free_ports N - N distinct free TCP ports of 127.0.0.1, one a line.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
for s in socks:
    s.close()
EOF
}

# new_hub NAME - a hub in $T/NAME with a fresh network key; its id in NID[NAME].
# A network key whose last byte is '\n' or ' ' cannot be given to `init --network-key` (see
# netkey.sh: node_netkey_create strips those as if they ended a hex text); such a hub is made
# again, so that the other tests do not fail 1 time in 128 for that one known bug.
new_hub() {
    local name=$1 tries last
    for ((tries = 0; tries < 20; tries++)); do
        rm -rf "${T:?}/$name"
        kn "$T/$name" init --role hub --name "$name"
        expect_rc 0 "init --role hub ($name)"
        last=$(tail -c 1 "$T/$name/network.key" | od -An -tx1 | tr -d ' \n')
        [[ "$last" != 0a && "$last" != 20 ]] && break
    done
    NID[$name]=$OUT
    [[ "$OUT" =~ ^[0-9a-f]{64}$ ]] || fail "init printed '$OUT', not a node id"
}

# new_office NAME HUB [NETKEYFILE] - an office of HUB's network (or of the network of the key in
# NETKEYFILE) in $T/NAME, enrolled by HUB (see enrol); its id in NID[NAME].
new_office() {
    new_unenrolled "$@"
    enrol "$1" "$2"
}

# office_with_card HUB OFFICE ORDER [CARD-SHIP-OPTIONS...] - HUB and OFFICE (new_hub,
# new_office) with two administrators at OFFICE and ORDER placed for it and shipped with serial
# SN-ORDER (more options of `card ship`, e.g. --chip, after it).
office_with_card() {
    local hub=$1 office=$2 order=$3 a
    new_hub "$hub"
    new_office "$office" "$hub"
    for a in 1 2; do
        kn "$T/$hub" office admin-add --office "$office" --admin "$office-admin$a" --name "Admin $a"
        expect_rc 0 "admin $a of $office"
    done
    kn "$T/$hub" order place --order "$order" --care-provider region --office "$office" \
        --card-type siths-e "${ORDER_OPTS[@]}"
    expect_rc 0 "order $order"
    kn "$T/$hub" card ship --order "$order" --serial "SN-$order" --rek "RR-$order" "${@:4}"
    expect_rc 0 "card ship $order"
}
ORDER_OPTS=()

# new_unenrolled NAME HUB [NETKEYFILE] - as new_office, but HUB does not enrol it: the others
# hold its entries aside instead of storing them.
new_unenrolled() {
    local name=$1 hub=$2 key=${3:-$T/$2/network.key}
    kn "$T/$name" init --role office --name "$name" --hub "${NID[$hub]}" --network-key "$key"
    expect_rc 0 "init --role office $name --hub $hub --network-key $key"
    NID[$name]=$OUT
    [[ "$OUT" =~ ^[0-9a-f]{64}$ ]] || fail "init printed '$OUT', not a node id"
}

# enrol NAME HUB - HUB registers an office NAME and enrols NAME's key as its office node: the
# other nodes store NAME's entries only once they hold that enrolment (store/trust.c).
enrol() {
    local name=$1 hub=$2 before after
    before=$(seq_of "$hub" "$hub")
    kn "$T/$hub" office register --office "$name" --kind organisation --name "$name" \
        --town "$name" --place "Storgatan 1" --booking "070-000 00 00" --days mon,tue
    expect_rc 0 "office register $name at $hub"
    kn "$T/$hub" node enrol "${NID[$name]}" --role office --office "$name"
    expect_rc 0 "node enrol $name at $hub"
    after=$(seq_of "$hub" "$hub")
    ((after == before + ENROL_ENTRIES)) ||
        fail "enrol $name at $hub: the hub's feed went from $before to $after, not +$ENROL_ENTRIES"
    ENROLS[$hub]=$((${ENROLS[$hub]:-0} + ENROL_ENTRIES))
}

# peer NAME OTHER - NAME's daemon dials OTHER (kortnod peer add).
peer() {
    [[ -n "${PORT[$2]:-}" ]] || fail "peer $1 $2: $2 has no port yet"
    kn "$T/$1" peer add "127.0.0.1:${PORT[$2]}" "${NID[$2]}"
    expect_rc 0 "peer add: $1 dials $2"
}

# assign_ports NAME... - a free port for each.
assign_ports() {
    local p i=0
    mapfile -t p < <(free_ports $#)
    for name in "$@"; do
        PORT[$name]=${p[$i]}
        i=$((i + 1))
    done
}

# log_has NAME PATTERN - NAME's daemon log matches the extended regexp.
log_has() {
    grep -Eq -- "$2" "$T/$1.log"
}

# wait_log NAME PATTERN SECONDS WHAT - wait for a line in NAME's log.
wait_log() {
    local deadline=$(($(now_ms) + $3 * 1000))
    until log_has "$1" "$2"; do
        (($(now_ms) < deadline)) || fail "$4: no line /$2/ in $1's log within $3 s"
        sleep 0.05
    done
}

# start NAME [UIPORT] - start NAME's daemon on PORT[NAME], logging into $T/NAME.log, its web
# interface on 127.0.0.1:UIPORT (default: off); waits until it listens.
start() {
    local name=$1 ui=off n
    [[ -n "${2:-}" ]] && ui="127.0.0.1:$2"
    n=$(grep -c 'listening on' "$T/$name.log" 2>/dev/null || true)
    "$KORTNOD" --data "$T/$name" run --listen "127.0.0.1:${PORT[$name]}" --ui "$ui" --log-level debug \
        >>"$T/$name.out" 2>>"$T/$name.log" &
    DPID[$name]=$!
    STARTED+=("$!")
    local deadline=$(($(now_ms) + 10000))
    while (($(grep -c 'listening on' "$T/$name.log" 2>/dev/null || true) <= ${n:-0})); do
        if ! alive "${DPID[$name]}"; then
            wait "${DPID[$name]}" || true
            fail "the daemon of $name exited at start"
        fi
        (($(now_ms) < deadline)) || fail "the daemon of $name does not listen within 10 s"
        sleep 0.02
    done
}

# alive PID - the process runs (and is not a zombie waiting to be reaped).
alive() {
    [[ -e /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# stop NAME SIGNAL SECONDS - send the signal to NAME's daemon and wait at most SECONDS for it to
# exit; its exit status in STOP_RC and the time it took in STOP_MS. Fails if it does not exit.
stop() {
    local name=$1 sig=$2 pid=${DPID[$1]} t0 deadline
    t0=$(now_ms)
    deadline=$((t0 + $3 * 1000))
    kill "-$sig" "$pid" || fail "kill -$sig $name (pid $pid)"
    while alive "$pid"; do
        if (($(now_ms) > deadline)); then
            fail "$name did not exit within $3 s of SIG$sig"
        fi
        sleep 0.01
    done
    STOP_MS=$(($(now_ms) - t0))
    STOP_RC=0
    wait "$pid" || STOP_RC=$?
    unset "DPID[$name]"
}

# clock_json NAME - NAME's `clock --json` (one call, no checks beyond the exit status).
clock_json() {
    "$KORTNOD" --data "$T/$1" clock --json 2>"$T/.clock.err" ||
        fail "clock --json of $1: $(cat "$T/.clock.err")"
}

# seq_in CLOCKJSON AUTHORID - the seq the clock text lists for that author (0 if absent).
seq_in() {
    if [[ "$1" =~ \"$2\":\ ([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo 0
    fi
}

# seq_of NAME AUTHORNAME - the seq of AUTHORNAME's feed NAME holds.
seq_of() {
    local c
    c=$(clock_json "$1") || exit 1
    seq_in "$c" "${NID[$2]}"
}

# wait_seq NAME AUTHORNAME SEQ SECONDS WHAT - poll NAME's clock every 50 ms until it holds
# AUTHORNAME's feed up to SEQ; the wait in WAITED_MS (from the call).
wait_seq() {
    local t0 deadline s
    t0=$(now_ms)
    deadline=$((t0 + $4 * 1000))
    while :; do
        s=$(seq_of "$1" "$2") || fail "$5: reading $1's clock failed"
        ((s >= $3)) && break
        (($(now_ms) < deadline)) ||
            fail "$5: $1 holds $2's feed up to $s, not $3, after $4 s"
        sleep 0.05
    done
    WAITED_MS=$(($(now_ms) - t0))
}

# same_clocks NAME... - every one has the same `clock --json`; 0 if so, 1 if not.
same_clocks() {
    local first c name
    first=$(clock_json "$1") || fail "clock --json of $1 failed"
    for name in "${@:2}"; do
        c=$(clock_json "$name") || fail "clock --json of $name failed"
        [[ "$c" == "$first" ]] || return 1
    done
    return 0
}

# show_clocks NAME... - every clock, for a failure message.
show_clocks() {
    local name
    for name in "$@"; do
        echo "$name: $(clock_json "$name" | tr -d ' \n')"
    done
}

# append NAME N [TAG] - append N raw entries (type test.sync) to NAME's feed.
append() {
    local i
    for ((i = 1; i <= $2; i++)); do
        kn "$T/$1" log append --type test.sync --body "{\"n\":$i,\"tag\":\"${3:-x}\"}"
        expect_rc 0 "log append #$i at $1"
    done
}

# sync_cmd NAME OTHER - NAME runs `kortnod sync` with OTHER's daemon (RC/OUT/ERR as run).
sync_cmd() {
    kn "$T/$1" sync --log-level debug "127.0.0.1:${PORT[$2]}" "${NID[$2]}"
    printf '%s\n%s\n' "$OUT" "$ERR" >>"$T/$1.sync.log"
}

# entries_in OUT - the "N entries in" count sync printed.
entries_in() {
    sed -n 's/^sync: \([0-9]*\) entries in, .*/\1/p' <<<"$1"
}
