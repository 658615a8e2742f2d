# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034
#
# Helpers of the fault tests (tests/faults/*.sh), on top of tests/sync/lib.sh (nodes in $T/NAME,
# daemons on free ports of 127.0.0.1, every process killed on exit, the daemons' logs printed on
# failure). tests/meson.build passes the gen_entries helper and the fault proxy (faults/proxy.c)
# as the two arguments.
#
# Every random choice of a test (whom to kill, when, where to cut) comes from bash's $RANDOM
# seeded with $SEED, printed first; KORTNOD_FAULT_SEED=S runs the same choices again (the timing
# of the processes around them still varies).

# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"

PROXY=$(realpath -m "${2:-$(dirname "$KORTNOD")/../tests/fault_proxy}")
[[ -x "$GEN_ENTRIES" ]] || fail "no gen_entries helper at '$GEN_ENTRIES'"

SEED=${KORTNOD_FAULT_SEED:-$(($(date +%s%N) % 1000000007))}
[[ "$SEED" =~ ^[0-9]+$ ]] || fail "KORTNOD_FAULT_SEED must be a number, not '$SEED'"
RANDOM=$SEED
echo "# seed $SEED (repeat with KORTNOD_FAULT_SEED=$SEED)"

# rnd LO HI - a random number from LO to HI (both included) in $R. Not in a subshell: $(...)
# would not move the sequence on.
rnd() {
    R=$(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1)))
}

# msleep MS - sleep MS milliseconds (a fault's random moment; never to wait for a condition).
msleep() {
    sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# check_alive NAME... - each named daemon still runs: one that ended on its own fails the test,
# with its exit status ("killed by signal 13" is SIGPIPE).
check_alive() {
    local name rc
    for name in "$@"; do
        [[ -n "${DPID[$name]:-}" ]] || continue
        alive "${DPID[$name]}" && continue
        rc=0
        wait "${DPID[$name]}" || rc=$?
        if ((rc > 128)); then
            fail "the daemon of $name ended on its own: killed by signal $((rc - 128))"
        fi
        fail "the daemon of $name ended on its own with exit status $rc"
    done
}

# wait_converged SECONDS WHAT NAME... - poll until every named node has the same clock; the
# wait in WAITED_MS. Fails with every clock shown.
wait_converged() {
    local secs=$1 what=$2 t0 deadline
    shift 2
    t0=$(now_ms)
    deadline=$((t0 + secs * 1000))
    until same_clocks "$@"; do
        check_alive "$@"
        (($(now_ms) < deadline)) || fail "$what: the clocks still differ after $secs s
$(show_clocks "$@")"
        sleep 0.1
    done
    WAITED_MS=$(($(now_ms) - t0))
}

# digest NAME - NAME's `state digest` (the card domain's state, brought up to date first).
digest() {
    "$KORTNOD" --data "$T/$1" state digest 2>"$T/.digest.err" ||
        fail "state digest of $1: $(cat "$T/.digest.err")"
}

# same_digests NAME... - every one has the same state digest, or fail naming them.
same_digests() {
    local first d name
    first=$(digest "$1")
    [[ "$first" =~ ^[0-9a-f]{64}$ ]] || fail "state digest of $1 printed '$first'"
    for name in "${@:2}"; do
        d=$(digest "$name")
        [[ "$d" == "$first" ]] || fail "state digests differ: $1 $first, $name $d"
    done
    DIGEST=$first
}

# verify_every NAME... - `log verify --every` passes at each; the entry count of the last in
# VERIFIED.
verify_every() {
    local name
    for name in "$@"; do
        kn "$T/$name" log verify --every
        expect_rc 0 "log verify --every at $name"
        VERIFIED=$(sed -n 's/^log verify: ok, \([0-9]*\) entries checked.*/\1/p' <<<"$OUT")
        [[ -n "$VERIFIED" ]] || fail "log verify --every at $name printed '$OUT'"
    done
}

# ACKED: one line per write that reported success, "NAME SEQ HASH" (HASH "-" when the command
# does not print it), appended by the writers (several at once: one short line per write).
ACKED=$T/acked
: >"$ACKED"

# ack_from NAME FILE - note the write whose stdout is in FILE ("appended seq N, hash H" or
# "TYPE recorded (seq N)") as acknowledged by NAME.
ack_from() {
    local line
    line=$(sed -n -e 's/^appended seq \([0-9]*\), hash \([0-9a-f]*\)$/\1 \2/p' \
        -e 's/^[a-z.]* recorded (seq \([0-9]*\))$/\1 -/p' "$2" | head -n 1)
    [[ -n "$line" ]] || return 1
    echo "$1 $line" >>"$ACKED"
}

# check_acked NAME... - every acknowledged write is held by each named node, with the hash the
# writer was told; prints how many were checked in ACK_COUNT.
check_acked() {
    local name args=()
    for name in "$@"; do
        args+=("$T/$name")
    done
    local map
    map=$(for name in "${!NID[@]}"; do echo "$name ${NID[$name]}"; done)
    ACK_COUNT=$(python3 - "$KORTNOD" "$ACKED" "$map" "${args[@]}" 2>&1 <<'EOF'
import json, subprocess, sys
kortnod, acked, idmap, dirs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
ids = dict(l.split() for l in idmap.splitlines() if l.strip())
want = {}
for line in open(acked):
    name, seq, h = line.split()
    want.setdefault(ids[name], {})[int(seq)] = h
for d in dirs:
    for author, seqs in want.items():
        out = subprocess.run([kortnod, "--data", d, "log", "show", "--author", author, "--json"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"log show at {d}: {out.stderr}")
        held = {e["seq"]: e["hash"] for e in json.loads(out.stdout)}
        for seq, h in seqs.items():
            if seq not in held:
                sys.exit(f"{d} lacks acknowledged entry {author[:8]}:{seq}")
            if h != "-" and held[seq] != h:
                sys.exit(f"{d} holds {author[:8]}:{seq} with hash {held[seq]}, the writer was told {h}")
print(sum(len(s) for s in want.values()))
EOF
) || fail "acknowledged writes: $ACK_COUNT"
}

# ---- the fault proxy (faults/proxy.c) ----

declare -A PROXY_PID=() PROXY_FD=() PROXY_SEEN=()

# proxy_start NAME LISTENPORT TOPORT - start a proxy called NAME, reading commands from a FIFO this
# shell holds open, its lines in $T/NAME.log (printed on failure with the daemons'); waits for
# "ready". Its seed comes from this test's.
proxy_start() {
    local name=$1 fd
    rm -f "$T/$name.in"
    mkfifo "$T/$name.in"
    : >"$T/$name.log"
    rnd 1 2000000000
    "$PROXY" --listen "$2" --to "$3" --seed "$R" <"$T/$name.in" >>"$T/$name.log" 2>&1 &
    PROXY_PID[$name]=$!
    STARTED+=("$!")
    # Read-write: opening never blocks, and the proxy sees no end of input while this shell lives.
    exec {fd}<>"$T/$name.in"
    PROXY_FD[$name]=$fd
    PROXY_SEEN[$name]=0
    proxy_wait "$name" '^ready$' 5
}

# proxy NAME COMMAND... - send a command and wait for its "ok".
proxy() {
    local name=$1
    shift
    alive "${PROXY_PID[$name]}" || fail "proxy $name does not run"
    proxy_mark "$name"
    printf '%s\n' "$*" >&"${PROXY_FD[$name]}"
    proxy_wait "$name" "^ok $*\$" 5
}

# proxy_mark NAME - proxy_wait and proxy_count look only at lines printed from now on.
proxy_mark() {
    PROXY_SEEN[$1]=$(wc -l <"$T/$1.log")
}

# proxy_count NAME PATTERN - how many lines after the mark match the extended regexp.
proxy_count() {
    tail -n "+$((PROXY_SEEN[$1] + 1))" "$T/$1.log" | grep -Ec -- "$2" || true
}

# proxy_wait NAME PATTERN SECONDS - wait for a line after the mark matching PATTERN.
proxy_wait() {
    local deadline=$(($(now_ms) + $3 * 1000))
    until (($(proxy_count "$1" "$2") > 0)); do
        (($(now_ms) < deadline)) || fail "proxy $1: no line /$2/ within $3 s"
        alive "${PROXY_PID[$1]}" || fail "proxy $1 exited"
        sleep 0.02
    done
}

# proxy_pair - a hub H and an office A whose daemon reaches H's only through the proxy P: A's
# kortnod.conf names P's port with H's id, and H dials nobody, so every byte between them goes
# through P (up: A to H, down: H to A). Both daemons run, P passes everything, and they have
# met once.
proxy_pair() {
    new_hub h
    new_office a h
    assign_ports h a p
    proxy_start p "${PORT[p]}" "${PORT[h]}"
    kn "$T/a" peer add "127.0.0.1:${PORT[p]}" "${NID[h]}"
    expect_rc 0 "peer add: A dials H through the proxy"
    start h
    start a
    append a 2 start
    append h 2 start
    wait_converged 20 "H and A through the proxy, passing everything" h a
}

# log_count NAME PATTERN - how many lines of NAME's daemon log match the extended regexp.
log_count() {
    grep -Ec -- "$2" "$T/$1.log" || true
}

# wait_count NAME PATTERN N SECONDS WHAT - wait until NAME's log holds more than N such lines.
wait_count() {
    local deadline=$(($(now_ms) + $4 * 1000))
    until (($(log_count "$1" "$2") > $3)); do
        (($(now_ms) < deadline)) || fail "$5: no new line /$2/ in $1's log within $4 s"
        sleep 0.05
    done
}

# finish_pair - both daemons stop cleanly; their logs verify, their clocks and states are equal.
finish_pair() {
    stop a TERM 10
    [[ $STOP_RC == 0 ]] || fail "A exited with status $STOP_RC after SIGTERM"
    stop h TERM 10
    [[ $STOP_RC == 0 ]] || fail "H exited with status $STOP_RC after SIGTERM"
    same_clocks h a || fail "the clocks differ after the daemons stopped
$(show_clocks h a)"
    verify_every h a
    same_digests h a
    ok "both stop cleanly; log verify --every passes at both ($VERIFIED entries); same clock, same state digest"
}
