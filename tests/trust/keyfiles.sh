#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The key files: node.key and network.key are made 0600, and kortnod refuses to use either when
# group or others may read it, saying which file and what to do.
# shellcheck source=tests/trust/lib.sh
source "$(dirname "$0")/lib.sh"

hub h
for f in node.key network.key; do
    [[ "$(stat -c %a "$T/h/$f")" == 600 ]] || fail "$f is $(stat -c %a "$T/h/$f"), not 600"
done
ok "init makes node.key and network.key 0600"

chmod 640 "$T/h/node.key"
kn "$T/h" id
expect_rc 1 "id with a group-readable node.key"
expect_text 'readable by group or others' "$ERR" "the refusal says why"
chmod 600 "$T/h/node.key"

chmod 604 "$T/h/network.key"
kn "$T/h" sync 127.0.0.1:1 "${NID[h]}"
expect_rc 1 "sync with a world-readable network.key"
expect_text 'network.key|readable by group or others' "$ERR" "the refusal says why"
chmod 600 "$T/h/network.key"
ok "a key file that others may read is refused"
