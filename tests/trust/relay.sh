#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A compromised relay. Relay r holds office s's entries and alters them before passing them on:
# a forged signature on one, a changed payload on another (the relay's own database, triggers
# dropped). The nodes it passes them to refuse each altered entry and everything after it in the
# feed, store none of them, and so never pass them on; what came before stays.
# shellcheck source=tests/trust/lib.sh
source "$(dirname "$0")/lib.sh"

hub h
office s h
office r h
office x h
register h storuman
register h lycksele
enrol h s storuman
enrol h r lycksele
enrol h x lycksele
xfer h r
xfer h x
for i in 1 2 3; do
    kn "$T/s" log append --type test.note --body "{\"n\":$i}"
    expect_rc 0 "append $i at s"
done
xfer s r

# alter DB AUTHOR SEQ WHAT - in the database DB, flip the last byte of the entry's signature
# (WHAT=sig) or of its payload (WHAT=payload), as a compromised relay could.
alter() {
    python3 - "$@" <<'PY' || fail "altering $1"
import sqlite3, sys
db, author, seq, what = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = sqlite3.connect(db)
c.execute("DROP TRIGGER IF EXISTS log_no_update")
table, col = ("log", "header") if what == "sig" else ("payloads", "body")
(v,) = c.execute(f"SELECT {col} FROM {table} WHERE author = ? AND seq = ?", (author, seq)).fetchone()
v = bytearray(v)
v[-1] ^= 1
c.execute(f"UPDATE {table} SET {col} = ? WHERE author = ? AND seq = ?", (bytes(v), author, seq))
c.commit()
PY
}

# ---- a forged signature ----
cp -a "$T/r" "$T/r2"
alter "$T/r/kortnod.db" "${NID[s]}" 2 sig
kn "$T/r" export --out "$T/forged.bundle"
expect_rc 0 "export at the relay"
kn "$T/h" import "$T/forged.bundle"
expect_rc 1 "import of the relay's altered export at the hub"
expect_text 'bad signature' "$OUT" "the hub names the forged signature"
[[ $(seq_at h s) == 1 ]] || fail "the hub holds s's feed up to $(seq_at h s), not 1"
kn "$T/h" log verify --every
expect_rc 0 "log verify --every at the hub"
xfer h x
[[ $(seq_at x s) == 1 ]] || fail "the forged entry travelled on to x"
ok "a forged signature: the hub keeps s's entry 1, refuses 2 and 3, and passes on nothing forged"

# ---- a changed payload ----
alter "$T/r2/kortnod.db" "${NID[s]}" 3 payload
kn "$T/r2" export --out "$T/tampered.bundle"
expect_rc 0 "export at the second relay copy"
kn "$T/x" import "$T/tampered.bundle"
expect_rc 1 "import of the tampered export at x"
expect_text 'payload does not match' "$OUT" "x names the changed payload"
[[ $(seq_at x s) == 2 ]] || fail "x holds s's feed up to $(seq_at x s), not 2"
ok "a changed payload: x keeps s's entries 1-2, refuses 3"
