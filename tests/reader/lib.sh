# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034
#
# Helpers of the card reader tests (tests/reader/*.sh), on top of tests/sync/lib.sh (so also
# tests/cli/lib.sh: $T, fail, ok, run, kn, and the daemon helpers start, stop, wait_log...).
#
# The tests run against the real pcscd with vsmartcard's virtual reader driver (vpcd) and a
# virtual card, tests/reader/vcard.c, that plugs into it over TCP:
#
#   reader_setup                      start our own pcscd with two virtual readers, $READER0 and
#                                     $READER1 (or print "SKIP: why" and exit 77)
#   make_cert NAME SERIAL [ARGS...]   an RSA 2048 test certificate in $T/NAME.der, its path in
#                                     $CERT (make_ec_cert: the same with EC P-256)
#   cplc_hex CHIP                     a CPLC (42 bytes in hex) giving the chip serial CHIP
#   py CODE ARGS...                   a python3 check of $OUT (as in tests/trust/lib.sh)
#   vcard_start --cert FILE [ARGS...] start the virtual card (not yet in the reader)
#   vcard CMD...                      send it a command (insert, remove, cert FILE, mode ...)
#   vcard_do CMD...                   the same, and wait for its answer (inserted, removed, ok)
#   vcard_wait PATTERN [SECONDS]      wait for its next output line matching PATTERN
#   vcard_mark                        forget its output so far (vcard_wait looks after the mark)
#   card_wait present|absent [READER] [SECONDS]
#                                     wait until pcscd sees the card in (or out of) the reader
#   pcscd_stop / pcscd_start          stop our pcscd (SIGTERM) / start it again
#
# pcscd serves its clients on the fixed socket /run/pcscd/pcscd.comm, so one pcscd at a time can
# run on the machine: the reader tests are registered with is_parallel : false, and they skip
# when a pcscd they did not start runs. They need root (or a writable /run/pcscd).
#
# vpcd listens on TCP port $VPCD_PORT (${KN_VPCD_PORT:-35963}) for the card of reader 0 and on
# the next port for reader 1 (on every interface: vpcd cannot be told 127.0.0.1). pcscd asks the
# card for its ATR about every 400 ms to see whether it is still there: an inserted card is seen
# 0.1 to 0.4 s after "inserted", a removed one 0.4 s (sometimes 0.85 s) after "removed". Wait
# for either with a deadline (card_wait), never with a fixed sleep.

# shellcheck source=tests/sync/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sync/lib.sh"

VCARD=${VCARD:-$(dirname "$KORTNOD")/../tests/vcard}
APDU=${APDU:-$(dirname "$KORTNOD")/../tests/apdu}
[[ -x "$VCARD" ]] || fail "the virtual card $VCARD is not built (tests/reader/vcard.c)"
[[ -x "$APDU" ]] || fail "the PC/SC client $APDU is not built (tests/reader/apdu.c)"

VPCD_DRIVER=${KN_VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}
VPCD_PORT=${KN_VPCD_PORT:-35963}
PCSCD_DIR=/run/pcscd
PCSCD_SOCKET=$PCSCD_DIR/pcscd.comm
READER0="Virtual PCD 00 00"
READER1="Virtual PCD 00 01"
export READER0 READER1
PCSCD_PID=
PCSCD_STARTS=0
VCARD_PID=
VCARD_FD=
VCARD_SEEN=0 # lines of $T/vcard.out already looked at by vcard_wait
VCARD_LINE=  # the line vcard_wait found last

skip() {
    echo "SKIP: $*"
    exit 77
}

reader_cleanup() {
    local rc=$? pid f deadline
    set +e
    trap - EXIT
    if [[ -n "$VCARD_PID" ]] && alive "$VCARD_PID"; then
        printf 'quit\n' >&"$VCARD_FD"
        deadline=$(($(now_ms) + 2000))
        while alive "$VCARD_PID" && (($(now_ms) < deadline)); do
            sleep 0.02
        done
    fi
    if [[ -n "$PCSCD_PID" ]] && alive "$PCSCD_PID"; then
        kill -TERM "$PCSCD_PID"
        deadline=$(($(now_ms) + 5000))
        while alive "$PCSCD_PID" && (($(now_ms) < deadline)); do
            sleep 0.02
        done
        kill -KILL "$PCSCD_PID" 2>/dev/null
        wait "$PCSCD_PID" 2>/dev/null
    fi
    for pid in "${STARTED[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${STARTED[@]}"; do
        wait "$pid" 2>/dev/null
    done
    if [[ $rc != 0 && $rc != 77 ]]; then
        for f in "$T"/*.log "$T"/vcard.out; do
            [[ -e "$f" ]] || continue
            echo "---- $(basename "$f") (last 200 lines) ----" >&2
            tail -n 200 "$f" >&2
        done
        echo "FAIL [$TEST_NAME]: exit status $rc (temporary directory removed: $T)" >&2
    fi
    rm -rf "$T"
    exit "$rc"
}
trap reader_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# pcscd_pids - the pcscd processes running (zombies left out), one a line.
pcscd_pids() {
    local d
    for d in /proc/[0-9]*; do
        [[ "$(cat "$d/comm" 2>/dev/null)" == pcscd ]] || continue
        grep -q '^State:[[:space:]]*Z' "$d/status" 2>/dev/null && continue
        echo "${d#/proc/}"
    done
}

# socket_answers - something accepts connections on pcscd's socket.
socket_answers() {
    [[ -S "$PCSCD_SOCKET" ]] || return 1
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])' "$PCSCD_SOCKET" 2>/dev/null
}

# port_listens PORT - a TCP socket listens on PORT (read from /proc: connecting to vpcd's port
# would insert a card).
port_listens() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# reader_setup - start our pcscd with the vpcd reader on $VPCD_PORT, or skip the test when that
# cannot be done here.
reader_setup() {
    local pid p
    command -v pcscd >/dev/null || skip "pcscd is not installed (Debian package pcscd)"
    [[ -e "$VPCD_DRIVER" ]] ||
        skip "the vpcd reader driver $VPCD_DRIVER is not installed (Debian package vsmartcard-vpcd)"
    command -v openssl >/dev/null || skip "openssl is not installed (for the test certificates)"
    if [[ $EUID != 0 ]] && ! [[ -w "$PCSCD_DIR" || (! -e "$PCSCD_DIR" && -w "${PCSCD_DIR%/*}") ]]; then
        skip "pcscd cannot make its socket: not root, and $PCSCD_DIR is not writable"
    fi
    pid=$(pcscd_pids | head -n 1)
    if [[ -n "$pid" && "${CI:-}" == true ]]; then
        # On a CI machine the package's own pcscd (started by its installation) is in the way of
        # the tests, which must run: it is stopped.
        echo "# CI: stopping the pcscd (pid $pid) this test did not start"
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$(($(now_ms) + 5000))
        while alive "$pid" && (($(now_ms) < deadline)); do
            sleep 0.05
        done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
        pid=$(pcscd_pids | head -n 1)
    fi
    if [[ -n "$pid" ]]; then
        skip "a pcscd not started by this test is running (pid $pid); stop it to run the reader tests"
    fi
    if socket_answers; then
        skip "something not started by this test answers on $PCSCD_SOCKET (a pcscd of another" \
            "process namespace, or systemd's pcscd.socket); stop it to run the reader tests"
    fi
    # Left behind by a pcscd killed with SIGKILL: pcscd refuses to start while its pid file names
    # a process that exists, even a zombie.
    if [[ -e "$PCSCD_SOCKET" ]]; then
        rm -f "$PCSCD_SOCKET" "$PCSCD_DIR/pcscd.pid" ||
            skip "cannot remove the stale $PCSCD_SOCKET of a pcscd that is gone"
    fi
    for p in "$VPCD_PORT" $((VPCD_PORT + 1)); do
        if port_listens "$p"; then
            skip "TCP port $p, for the virtual reader, is in use; set KN_VPCD_PORT to another"
        fi
    done
    cat >"$T/reader.conf" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$VPCD_PORT
LIBPATH      $VPCD_DRIVER
CHANNELID    $VPCD_PORT
EOF
    pcscd_start
}

# pcscd_start - start our pcscd (logging at info level into $T/pcscd.log) and wait until it
# serves clients and vpcd listens for both readers' cards.
pcscd_start() {
    local ready deadline rc=0
    [[ -z "$PCSCD_PID" ]] || fail "pcscd_start: our pcscd runs already (pid $PCSCD_PID)"
    ready=$(grep -c 'daemon ready' "$T/pcscd.log" 2>/dev/null || true)
    echo "---- pcscd -f -c $T/reader.conf --info ($(date '+%T.%N'))" >>"$T/pcscd.log"
    pcscd -f -c "$T/reader.conf" --info >>"$T/pcscd.log" 2>&1 &
    PCSCD_PID=$!
    PCSCD_STARTS=$((PCSCD_STARTS + 1))
    deadline=$(($(now_ms) + 10000))
    until (($(grep -c 'daemon ready' "$T/pcscd.log" || true) > ${ready:-0})) &&
        [[ -S "$PCSCD_SOCKET" ]] && port_listens "$VPCD_PORT" &&
        port_listens $((VPCD_PORT + 1)); do
        if ! alive "$PCSCD_PID"; then
            wait "$PCSCD_PID" || rc=$?
            PCSCD_PID=
            if ((PCSCD_STARTS == 1)); then
                skip "pcscd exited at start (status $rc): $(tail -n 3 "$T/pcscd.log" | tr '\n' ' ')"
            fi
            fail "pcscd exited at start (status $rc): see pcscd.log below"
        fi
        (($(now_ms) < deadline)) ||
            fail "pcscd does not serve on $PCSCD_SOCKET with vpcd listening on ports $VPCD_PORT" \
                "and $((VPCD_PORT + 1)) within 10 s
$(tail -n 20 "$T/pcscd.log")"
        sleep 0.02
    done
}

# pcscd_stop - stop our pcscd with SIGTERM and wait for it to exit (10 s at most). vpcd closes
# the card's connection: a vcard prints "closed by vpcd" and "removed", and must be inserted
# again once pcscd runs again.
pcscd_stop() {
    local deadline rc=0
    [[ -n "$PCSCD_PID" ]] || fail "pcscd_stop: our pcscd does not run"
    kill -TERM "$PCSCD_PID" || fail "kill -TERM pcscd (pid $PCSCD_PID)"
    deadline=$(($(now_ms) + 10000))
    while alive "$PCSCD_PID"; do
        (($(now_ms) < deadline)) || fail "pcscd (pid $PCSCD_PID) did not exit within 10 s of SIGTERM"
        sleep 0.02
    done
    wait "$PCSCD_PID" || rc=$?
    PCSCD_PID=
    ((rc == 0)) || fail "pcscd exited with status $rc on SIGTERM"
}

# make_cert NAME SERIALNUMBER [OPENSSL_ARGS...] - a self-signed RSA 2048 certificate (as SITHS
# cards hold) with subject C=SE, O=Test, CN=NAME, serialNumber=SERIALNUMBER, in DER in
# $T/NAME.der (key in $T/NAME.key); the path in $CERT.
make_cert() {
    _make_cert rsa:2048 "$@"
}

# make_ec_cert NAME SERIALNUMBER [OPENSSL_ARGS...] - the same with an EC P-256 key.
make_ec_cert() {
    _make_cert ec "$@" -pkeyopt ec_paramgen_curve:P-256
}

_make_cert() {
    local key=$1 name=$2 serial=$3
    shift 3
    openssl req -x509 -newkey "$key" -nodes -subj "/C=SE/O=Test/CN=$name/serialNumber=$serial" \
        -days 30 -outform DER -out "$T/$name.der" -keyout "$T/$name.key" "$@" \
        >"$T/.openssl.out" 2>&1 || fail "openssl req for $name failed: $(cat "$T/.openssl.out")"
    CERT="$T/$name.der"
}

# py CODE ARGS... - run python3 CODE with sys.argv[1] = $OUT, then ARGS; fail when it fails (as
# in tests/trust/lib.sh).
py() {
    python3 -c "$1" "$OUT" "${@:2}" || fail "check failed: $1
--- output:
$OUT"
}

# jq_get FIELD - the field of the JSON object in $EV (a line of `reader watch --json`), or ""
# when it is absent or null.
jq_get() {
    python3 -c 'import json, sys
v = json.loads(sys.argv[1]).get(sys.argv[2])
print("" if v is None else v)' "$EV" "$1" || fail "jq_get $1: not a JSON object: $EV"
}

# cplc_hex CHIP - the 42 bytes of a CPLC (hex, for vcard --cplc or `vcard cplc`) whose chip serial
# (reader/reader.h: IC fabricator, IC type, IC serial number) is the 16 hex digits CHIP; the
# other fields are vcard's defaults.
cplc_hex() {
    [[ "$1" =~ ^[0-9A-Fa-f]{16}$ ]] || fail "cplc_hex: '$1' is not 16 hex digits"
    echo "${1:0:8}4791511201005105${1:8:8}0A0B481251100000511500015120000000010002512500000002"
}

# vcard_start [VCARD_ARGS...] - start the virtual card for reader 0 (its --port comes first, so
# ARGS may give another, $((VPCD_PORT + 1)) for reader 1), reading commands from a FIFO this
# shell keeps open and writing its lines into $T/vcard.out; waits for "ready". Not inserted yet.
vcard_start() {
    [[ -z "$VCARD_PID" ]] || fail "vcard_start: a vcard runs already (pid $VCARD_PID)"
    rm -f "$T/vcard.in"
    mkfifo "$T/vcard.in"
    touch "$T/vcard.out"
    vcard_mark
    "$VCARD" --port "$VPCD_PORT" "$@" <"$T/vcard.in" >>"$T/vcard.out" 2>&1 &
    VCARD_PID=$!
    STARTED+=("$VCARD_PID")
    # Read-write: opening never blocks, and vcard sees no end of input while this shell lives.
    exec {VCARD_FD}<>"$T/vcard.in"
    vcard_wait '^ready$' 5
}

# vcard_stop - quit the virtual card and wait for it.
vcard_stop() {
    local rc=0
    [[ -n "$VCARD_PID" ]] || fail "vcard_stop: no vcard runs"
    vcard quit
    wait "$VCARD_PID" || rc=$?
    exec {VCARD_FD}>&-
    VCARD_PID=
    ((rc == 0)) || fail "vcard exited with status $rc"
}

# vcard CMD... - send the virtual card one command line.
vcard() {
    if [[ -z "$VCARD_PID" ]] || ! alive "$VCARD_PID"; then
        fail "vcard $*: the virtual card does not run
$(tail -n 20 "$T/vcard.out" 2>/dev/null)"
    fi
    printf '%s\n' "$*" >&"$VCARD_FD"
}

# vcard_do CMD... - send a command and wait for its answer: "inserted" for insert, "removed"
# for remove, "ok ..." for the others.
vcard_do() {
    vcard_mark
    vcard "$@"
    case $1 in
    insert) vcard_wait '^inserted$' 15 ;;
    remove) vcard_wait '^removed$' 5 ;;
    *) vcard_wait '^ok ' 5 ;;
    esac
}

# vcard_mark - vcard_wait looks only at lines printed from now on.
vcard_mark() {
    VCARD_SEEN=$(wc -l <"$T/vcard.out")
}

# vcard_wait PATTERN [SECONDS] - wait (10 s by default) for a whole line of $T/vcard.out after
# the mark that matches the extended regexp PATTERN; the line in $VCARD_LINE, and the mark moved
# past it. Fails at once on an "error ..." line the pattern does not match, or if vcard exits.
vcard_wait() {
    local pat=$1 deadline total n line
    deadline=$(($(now_ms) + ${2:-10} * 1000))
    while :; do
        total=$(wc -l <"$T/vcard.out") # whole lines only: the last may be half written
        n=0
        while IFS= read -r line; do
            n=$((n + 1))
            if grep -Eq -- "$pat" <<<"$line"; then
                VCARD_SEEN=$((VCARD_SEEN + n))
                VCARD_LINE=$line
                return 0
            fi
            if [[ "$line" == error* ]]; then
                fail "waiting for /$pat/ the virtual card said: $line"
            fi
        done < <(sed -n "$((VCARD_SEEN + 1)),${total}p" "$T/vcard.out")
        if ! alive "$VCARD_PID"; then
            fail "the virtual card exited while waiting for /$pat/:
$(tail -n 20 "$T/vcard.out")"
        fi
        (($(now_ms) < deadline)) || fail "the virtual card printed no line /$pat/ within ${2:-10} s:
$(sed -n "$((VCARD_SEEN + 1)),\$p" "$T/vcard.out" | tail -n 20)"
        sleep 0.02
    done
}

# card_wait present|absent [READER] [SECONDS] - wait (10 s by default) until pcscd shows a card
# in READER ($READER0 by default), or shows it empty; the time it took in $CARD_WAITED_MS.
card_wait() {
    local rc=0 t0
    t0=$(now_ms)
    "$APDU" --reader "${2:-$READER0}" --wait "$1" --timeout "$((${3:-10} * 1000))" \
        >"$T/.apdu.out" 2>"$T/.apdu.err" || rc=$?
    CARD_WAITED_MS=$(($(now_ms) - t0))
    ((rc == 0)) || fail "card_wait $1 ${2:-$READER0}: $(cat "$T/.apdu.err")"
}

# kiruna_card_shipped - a hub and office kiruna (two administrators) where order A1, for holder
# "Anna Test" (HSA-id SE2321000016-TEST1), was shipped with chip $CHIP, as kiruna knows.
kiruna_card_shipped() {
    CHIP=47905040000000A1
    ORDER_OPTS=(--holder "Anna Test" --hsa-id SE2321000016-TEST1)
    office_with_card hub kiruna A1 --chip "$CHIP"
    ORDER_OPTS=()
    kn "$T/hub" export --out "$T/hub.kn"
    kn "$T/kiruna" import "$T/hub.kn"
    expect_rc 0 "import at kiruna"
}

# kiruna_ui - start kiruna's daemon with its web interface (reading the readers), and make a
# one-time login link: in $LINK, the interface's address in $BASE.
kiruna_ui() {
    assign_ports kiruna ui
    start kiruna "${PORT[ui]}"
    wait_log kiruna "web interface on" 10 "the web interface"
    wait_log kiruna "card reader added: $READER0" 10 "the readers"
    kn "$T/kiruna" ui --print
    expect_rc 0 "kortnod ui"
    LINK=$(head -1 <<<"$OUT")
    BASE="http://127.0.0.1:${PORT[ui]}"
}

# kiruna_card_stored - the same, and A1 is locked up at kiruna, waiting for its hand-over.
kiruna_card_stored() {
    local step
    kiruna_card_shipped
    for step in notice collect "store --locked"; do
        # shellcheck disable=SC2086
        kn "$T/kiruna" card $step --order A1
        expect_rc 0 "card $step"
    done
}
