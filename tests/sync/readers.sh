#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The daemon, `kortnod sync` and the command line share one SQLite database in WAL mode
# (docs/protocol.md, section 4): a read-only command must not wait for another process's write
# transaction. Here another process holds a write transaction open for 7 s (as a `kortnod sync`
# does when it is suspended with Ctrl-Z in the middle of storing a batch); the sqlite3 shell still
# reads the log at once, and `kortnod clock --json` must too.
#
# Today store_open() (store/store.c, migrate()) begins every open with BEGIN IMMEDIATE, even when
# the schema is current, so every command needs the write lock: clock waits the 5 s busy timeout
# and fails with "Device or resource busy".
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || fail "the sqlite3 shell is needed (package sqlite3)"

new_hub a
append a 2 x
DB="$T/a/kortnod.db"

python3 - "$DB" "$T/locked" <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
c.execute("INSERT INTO meta(key, value) VALUES ('test.lock', 'held')")
open(sys.argv[2], "w").close()
time.sleep(7)
c.execute("ROLLBACK")
EOF
holder=$!
STARTED+=("$holder")
deadline=$(($(now_ms) + 5000))
until [[ -e "$T/locked" ]]; do
    (($(now_ms) < deadline)) || fail "the lock holder did not start"
    sleep 0.02
done

[[ "$(sqlite3 "$DB" 'SELECT count(*) FROM log')" == 2 ]] ||
    fail "the sqlite3 shell cannot read the log while another process writes"
ok "while another process holds a write transaction the sqlite3 shell reads the log at once"

t0=$(now_ms)
kn "$T/a" clock --json
took=$(($(now_ms) - t0))
if [[ $RC != 0 || $took -gt 2000 ]]; then
    fail "BUG: clock --json while another process holds a write transaction: exit $RC after $took ms: $ERR
(store/store.c: store_open -> migrate() starts with BEGIN IMMEDIATE on every open)"
fi
[[ "$(seq_in "$OUT" "${NID[a]}")" == 2 ]] || fail "clock --json does not show the 2 entries: $OUT"
ok "clock --json answers in $took ms while another process writes"
wait "$holder" || true
