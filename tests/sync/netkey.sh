#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Joining a network with the hub's key file: `init --role office --network-key HUB/network.key`
# must take any key the hub holds. The hub writes its network key as 32 raw random bytes; the
# file reader strips a trailing '\n' or ' ' (as if the file were hex text), so a key whose last
# byte happens to be 0x0a or 0x20 (1 hub in 128) cannot be given to an office. The test builds
# such keys on purpose, checks the hub's daemon accepts them, and that an office can join with
# them and then sync with the hub. Also: a refused `init` must not leave a half-made node
# behind, so that init can be run again with a good key.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/lib.sh"

# A hex key file (64 hex digits and a newline) works: the reference case.
new_hub h
python3 -c 'import os; print(os.urandom(32).hex())' >"$T/hex.key"
kn "$T/o-hex" init --role office --hub "${NID[h]}" --network-key "$T/hex.key"
expect_rc 0 "init --network-key with a hex key file"
[[ "$(wc -c <"$T/o-hex/network.key")" == 32 ]] || fail "the network key is not stored as 32 bytes"
ok "a network key given as 64 hex digits is taken"

bad=0
for last in 0a 20; do
    hub=h$last office=o$last
    new_hub "$hub"
    # The hub's own key, with its last byte set: what `init --role hub` writes 1 time in 256 each.
    python3 - "$T/$hub/network.key" "$last" <<'EOF'
import os, sys
path, last = sys.argv[1], int(sys.argv[2], 16)
key = bytearray(open(path, "rb").read())
assert len(key) == 32
key[31] = last
open(path, "wb").write(bytes(key))
EOF
    assign_ports "$hub"
    start "$hub"
    ok "the hub's daemon runs with a network key ending in 0x$last"
    kn "$T/$office" init --role office --hub "${NID[$hub]}" --network-key "$T/$hub/network.key"
    if [[ $RC != 0 ]]; then
        echo "not ok - BUG: an office cannot join with the hub's network.key ending in 0x$last:" \
            "init exits $RC: $ERR"
        bad=1
    else
        NID[$office]=$OUT
        cmp -s "$T/$hub/network.key" "$T/$office/network.key" ||
            fail "the office's network.key differs from the hub's"
        sync_cmd "$office" "$hub"
        expect_rc 0 "the office (key ending 0x$last) syncs with its hub"
        ok "an office joins with the hub's network.key ending in 0x$last and syncs"
    fi
    stop "$hub" TERM 5
    [[ "$STOP_RC" == 0 ]] || fail "$hub exited with status $STOP_RC"
done

# A refused init leaves nothing behind: init again with a good key works.
printf 'short\n' >"$T/short.key"
kn "$T/o-retry" init --role office --hub "${NID[h]}" --network-key "$T/short.key"
expect_rc 1 "init with a 5-byte network key file"
kn "$T/o-retry" init --role office --hub "${NID[h]}" --network-key "$T/h/network.key"
if [[ $RC != 0 ]]; then
    echo "not ok - BUG: after init refused a bad network key file, init again exits $RC: $ERR" \
        "(node.key and kortnod.db were left behind: $(cd "$T/o-retry" && echo *))"
    bad=1
else
    ok "after a refused init, init again with a good key works"
fi
((bad == 0)) || fail "network key files: see the 'not ok' lines above"
