#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# demo: three nodes exchange entries, each verifies, and the temporary directory is removed.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

list_demo_dirs() {
    find /tmp -maxdepth 1 -name 'kortnod-demo.*' -print 2>/dev/null | sort
}

list_demo_dirs >"$T/before"
run "$KORTNOD" demo
expect_rc 0 "demo"
list_demo_dirs >"$T/after"

n=$(grep -c 'verification passed' <<<"$OUT" || true)
[[ "$n" == 3 ]] || fail "demo printed 'verification passed' $n times, want 3:
$OUT"
reject_text 'FAIL|DIFFERS' "$OUT" "demo output"
dir=$(sed -n 's/^kortnod demo in \(\/tmp\/kortnod-demo\.[^ ]*\)$/\1/p' <<<"$OUT")
[[ -n "$dir" ]] || fail "demo does not say which directory it uses:
$OUT"
[[ ! -e "$dir" ]] || fail "demo left its directory $dir behind"
# Any other directory that appeared must be another demo's, running at the same time: it goes
# away within seconds. One that stays is a leak.
new=$(comm -13 "$T/before" "$T/after")
for d in $new; do
    for _ in $(seq 50); do
        [[ -e "$d" ]] || break
        sleep 0.2
    done
    [[ ! -e "$d" ]] || fail "a demo directory appeared during the demo and stayed: $d"
done
ok "demo: 3 x 'verification passed', no /tmp/kortnod-demo.* left behind"

run "$KORTNOD" demo --keep
expect_rc 0 "demo --keep"
dir=$(sed -n 's/^kortnod demo in \(\/tmp\/kortnod-demo\.[^ ]*\)$/\1/p' <<<"$OUT")
[[ -n "$dir" && -d "$dir" ]] || fail "demo --keep did not keep its directory '$dir'"
for node in hub storuman arjeplog; do
    [[ -f "$dir/$node/node.key" ]] || { rm -rf "$dir"; fail "demo --keep: no $dir/$node/node.key"; }
done
run "$KORTNOD" --data "$dir/hub" log verify --every
rc=$RC
rm -rf "$dir"
RC=$rc
expect_rc 0 "log verify --every of the kept demo hub"
ok "demo --keep keeps a directory whose nodes verify"
