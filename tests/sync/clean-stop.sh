#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# SIGINT and SIGTERM each make `kortnod run` exit 0 within 2 s while a peer is connected: the
# accepting side (A) and the dialling side (B), each signal on each side, restarting the stopped
# daemon and waiting for the link to come back in between. Then A is stopped with SIGTERM in the
# middle of sending a 20,000-entry feed to a `kortnod sync`: A still exits 0 within 2 s, the
# sync reports failure, and what it kept verifies.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/lib.sh"

new_hub a
new_office b a
assign_ports a b
peer b a

# links NAME - how many secure connections NAME's log shows so far.
links() {
    grep -c 'secure connection with node' "$T/$1.log" 2>/dev/null || true
}

# wait_link - both logs show a new secure connection (counts in LA/LB before the call).
wait_link() {
    local deadline=$(($(now_ms) + 15000))
    until (($(links a) > LA && $(links b) > LB)); do
        (($(now_ms) < deadline)) || fail "A and B do not connect (again) within 15 s"
        sleep 0.02
    done
    LA=$(links a) LB=$(links b)
}

LA=0 LB=0
start a
start b
wait_link
append a 1 x
# A's feed starts with its enrolment of B (lib.sh: enrol).
wait_seq b a $((ENROLS[a] + 1)) 5 "A's entry reaches B"

for round in "a INT" "a TERM" "b INT" "b TERM"; do
    read -r who sig <<<"$round"
    other=$([[ $who == a ]] && echo b || echo a)
    # The link is up and has carried an entry just now.
    n=$(($(seq_of "$other" "$other") + 1))
    append "$other" 1 "before-$who-$sig"
    wait_seq "$who" "$other" "$n" 5 "the link carries an entry before SIG$sig to $who"
    stop "$who" "$sig" 2
    [[ "$STOP_RC" == 0 ]] || fail "$who exited with status $STOP_RC after SIG$sig, want 0"
    sig_no=$([[ $sig == INT ]] && echo 2 || echo 15)
    log_has "$who" "signal $sig_no: saying goodbye to 1 peer" ||
        fail "$who's log does not show SIG$sig with its peer connected"
    ok "SIG$sig to $([[ $who == a ]] && echo 'A (accepting)' || echo 'B (dialling)') with B connected: exit 0 in $STOP_MS ms"
    start "$who"
    wait_link
done

same_clocks a b || fail "after the restarts the clocks differ
$(show_clocks a b)"
ok "after four stops and restarts A and B hold the same entries"

# SIGTERM while A sends a big feed to a sync.
[[ -x "$GEN_ENTRIES" ]] || fail "no gen_entries helper at '$GEN_ENTRIES'"
stop b TERM 2
[[ "$STOP_RC" == 0 ]] || fail "B exited with status $STOP_RC after SIGTERM"
stop a TERM 2
[[ "$STOP_RC" == 0 ]] || fail "A exited with status $STOP_RC after SIGTERM (no peer)"
N=20000
run "$GEN_ENTRIES" "$T/a" "$N" --pad 1000 --tx 2000
expect_rc 0 "gen_entries into A"
tip=$OUT
start a
new_office s a
# gen_entries printed A's tip; the enrolment of S (lib.sh: enrol) follows it in A's feed.
total=$((tip + ENROL_ENTRIES))
[[ "$(seq_of a a)" == "$total" ]] || fail "A's feed is at $(seq_of a a), not $total"
"$KORTNOD" --data "$T/s" sync --log-level debug "127.0.0.1:${PORT[a]}" "${NID[a]}" \
    >"$T/s.sync.out" 2>"$T/s.sync.log" &
spid=$!
STARTED+=("$spid")
deadline=$(($(now_ms) + 20000))
until (($(seq_of s a) > 0)); do
    (($(now_ms) < deadline)) || fail "S got nothing from A in 20 s"
    alive "$spid" || fail "S's sync ended before A could be stopped"
    sleep 0.01
done
stop a TERM 2
[[ "$STOP_RC" == 0 ]] || fail "A exited with status $STOP_RC after SIGTERM during a transfer"
ok "SIGTERM to A in the middle of sending $total entries: exit 0 in $STOP_MS ms"
src=0
wait "$spid" || src=$?
got=$(seq_of s a)
if ((got < total)); then
    [[ $src == 1 ]] || fail "the cut-off sync exits $src, want 1 (it got $got of $total)
$(cat "$T/s.sync.out")"
    grep -q '^kortnod: sync: ' "$T/s.sync.log" || fail "the cut-off sync does not say why it failed"
else
    echo "# the sync had everything before A stopped (status $src)"
fi
kn "$T/s" log verify --every
expect_rc 0 "log verify --every at S after the cut-off sync"
ok "the sync cut off by the stop exits $src with $got of $total entries, all verified"
