#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A sync killed half-way resumes without losing or repeating anything. A (a running daemon) holds
# 20,000 entries of its own (written by gen_entries); B, holding 3 of its own, runs `kortnod sync`
# with A and is killed with SIGKILL once its clock shows some but not all of A's feed. What B kept
# verifies; a second `sync` completes (exit 0) and reports exactly the missing entries as
# "entries in"; then B's clock is exactly A's and `log verify --every` passes on both. A's feed
# also holds, after its 20,000, the hub's enrolment of each B (lib.sh: enrol).
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/lib.sh"

N=20000
[[ -x "$GEN_ENTRIES" ]] || fail "no gen_entries helper at '$GEN_ENTRIES'"

new_hub a
t0=$(now_ms)
run "$GEN_ENTRIES" "$T/a" "$N" --pad 300 --tx 2000
expect_rc 0 "gen_entries: $N entries in A's feed"
[[ "$OUT" == "$N" ]] || fail "gen_entries printed '$OUT', want $N"
ok "A holds $N entries of its own ($(($(now_ms) - t0)) ms with gen_entries)"
assign_ports a
start a

# The transfer takes well under a second here, so the kill may miss it: then a fresh B tries
# again (at most 5 times).
killed=0
for attempt in 1 2 3 4 5; do
    b=b$attempt
    new_office "$b" a
    NA=$((N + ENROLS[a])) # A's feed now: its N and the enrolments of b1 .. $b
    append "$b" 3 own
    "$KORTNOD" --data "$T/$b" sync --log-level debug "127.0.0.1:${PORT[a]}" "${NID[a]}" \
        >"$T/$b.sync1.out" 2>"$T/$b.sync1.log" &
    spid=$!
    STARTED+=("$spid")
    k=0
    deadline=$(($(now_ms) + 30000))
    while alive "$spid" && (($(now_ms) < deadline)); do
        k=$(seq_of "$b" a)
        if ((k > 0 && k < NA)); then
            kill -KILL "$spid"
            killed=1
            break
        fi
        sleep 0.01
    done
    src=0
    { wait "$spid"; } 2>/dev/null || src=$?
    if ((killed)); then
        [[ $src == 137 ]] || fail "the first sync of $b ended with status $src, not by SIGKILL (137)"
        break
    fi
    alive "$spid" && fail "the first sync of $b neither finished nor reached A's entries in 30 s"
    echo "# attempt $attempt: the sync finished (status $src) before it could be killed; again"
done
((killed)) || fail "5 attempts: the sync always finished before it could be killed"
k=$(seq_of "$b" a)
((k > 0 && k < NA)) || fail "after the kill $b holds A's feed up to $k, want between 1 and $((NA - 1))"
ok "sync of $b killed with SIGKILL after $k of $NA entries"

# On a later attempt A also holds the 3 entries of each earlier B, which A sends after its own
# feed: count those this B stored before the kill (0 unless the kill came late).
prev=0
for ((j = 1; j < attempt; j++)); do
    prev=$((prev + $(seq_of "$b" "b$j")))
done
kn "$T/$b" log verify --every
expect_rc 0 "log verify --every at $b after the SIGKILL"
expect_text "ok, $((k + 3 + prev)) entries checked" "$OUT" "$b holds $k of A's entries, its own 3 and $prev of earlier B nodes"
ok "what $b kept verifies: $k of A's entries and its own 3 (and $prev of earlier B nodes)"

sync_cmd "$b" a
expect_rc 0 "the second sync of $b with A"
expect_text '^sync: [0-9]+ entries in' "$OUT" "the second sync prints its counts"
got=$(entries_in "$OUT")
want=$((NA - k + 3 * (attempt - 1) - prev))
[[ "$got" == "$want" ]] ||
    fail "the second sync brought $got entries in, want exactly the $want missing ($NA - $k of A's, $((3 * (attempt - 1) - prev)) of earlier B nodes)
$OUT"
ok "the second sync completes and brings in only the $got missing entries"

ca=$(clock_json a)
cb=$(clock_json "$b")
[[ "$ca" == "$cb" ]] || fail "after the second sync the clocks differ
A: $ca
$b: $cb"
[[ "$(seq_in "$ca" "${NID[a]}")" == "$NA" && "$(seq_in "$ca" "${NID[$b]}")" == 3 ]] ||
    fail "the common clock is not A at $NA and $b at 3: $ca"
kn "$T/$b" log verify --every
expect_rc 0 "log verify --every at $b"
expect_text "ok, $((NA + 3 * attempt)) entries checked" "$OUT" "$b holds $((NA + 3 * attempt)) entries"
ok "$b ends with exactly A's clock (A $NA, $b 3); log verify --every passes"

stop a TERM 5
[[ "$STOP_RC" == 0 ]] || fail "A exited with status $STOP_RC after SIGTERM"
kn "$T/a" log verify --every
expect_rc 0 "log verify --every at A"
expect_text "ok, $((NA + 3 * attempt)) entries checked" "$OUT" "A holds its own and the B nodes' entries"
ok "A stops cleanly; its log verifies"
