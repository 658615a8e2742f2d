#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# README's first command ends in `kortnod demo --serve`: the demo network (a hub and two
# offices) with their daemons and web pages on loopback, and a login link for each. Here the
# link of the Storuman office logs in, card DEMO-1 is walked from the postal notice to the
# hand-over through the page's forms in headless chromium with the serial the demo prints
# (tests/ui/demo.mjs; through the API the page uses where chromium or the npm packages are
# missing, saying so), and the hub's page shows it handed over. Ctrl-C (SIGTERM) stops the
# daemons and removes the demo's directory.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"
# shellcheck source=tests/ui/lib.sh
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed"
BROWSER=1
skip() {
    echo "# $* : DEMO-1 is walked through the API instead of the page"
    BROWSER=0
}
browser_setup

"$KORTNOD" demo --serve >"$T/demo.out" 2>&1 &
DEMO=$!
STARTED+=("$!")
deadline=$(($(now_ms) + 60000))
until grep -q "Stop with Ctrl-C" "$T/demo.out"; do
    alive "$DEMO" || fail "the demo ended early: $(tail -20 "$T/demo.out")"
    (($(now_ms) < deadline)) || fail "the demo printed no links in 60 s: $(tail -20 "$T/demo.out")"
    sleep 0.1
done
LINK=$(grep -o 'http://127.0.0.1:7181/login?t=[0-9a-f]*' "$T/demo.out")
HUBLINK=$(grep -o 'http://127.0.0.1:7180/login?t=[0-9a-f]*' "$T/demo.out")
DIR=$(sed -n 's/^kortnod demo in \(.*\)$/\1/p' "$T/demo.out")
[[ -n "$LINK" && -n "$HUBLINK" && -d "$DIR" ]] || fail "no links or directory: $(cat "$T/demo.out")"
curl -s -c "$T/jar" -o /dev/null -w '%{http_code}' "$LINK" | grep -q 303 || fail "the office's link"
curl -s -c "$T/hubjar" -o /dev/null "$HUBLINK"
CSRF=$(curl -s -b "$T/jar" http://127.0.0.1:7181/api/session |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])')
ok "the demo serves three pages; the office's one-time link logs in"

# demo1_at JAR PORT STATE WHAT - wait (20 s at most, else fail saying WHAT) until the page on
# PORT lists DEMO-1 in STATE (any state: "").
demo1_at() {
    local deadline=$(($(now_ms) + 20000))
    until curl -s -b "$1" "http://127.0.0.1:$2/api/report/orders" |
        python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x["order_id"]=="DEMO-1"]; sys.exit(0 if r and sys.argv[1] in ("", r[0]["state"]) else 1)' "$3"; do
        (($(now_ms) < deadline)) || fail "$4"
        sleep 0.2
    done
}

# The office's daemon fetches DEMO-1 from the hub's within moments of starting.
demo1_at "$T/jar" 7181 "" "DEMO-1 does not reach Storuman"

SERIAL=$(grep -o 'printed on the card is [A-Z0-9-]*' "$T/demo.out" | grep -o '[A-Z0-9-]*$' || true)
[[ "$SERIAL" == SN-DEMO-1 ]] || fail "the demo does not tell the card's serial: $(cat "$T/demo.out")"
step() { # TYPE BODY
    local code
    code=$(curl -s -b "$T/jar" -o "$T/.body" -w '%{http_code}' -X POST -H "X-CSRF-Token: $CSRF" \
        -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:7181/api/step/$1")
    [[ $code == 200 ]] || fail "$1: $code $(cat "$T/.body")"
}
if ((BROWSER)); then
    # New links (the printed ones were taken above), made as the demo says.
    kn "$DIR/storuman" ui --print
    expect_rc 0 "a new link for Storuman"
    LINK=$(head -1 <<<"$OUT")
    kn "$DIR/hub" ui --print
    expect_rc 0 "a new link for the hub"
    node "$UI_DIR/demo.mjs" --chromium "$CHROMIUM" --artifacts "$ART" --office "$LINK" \
        --hub "$(head -1 <<<"$OUT")" --serial "$SERIAL" ||
        fail "walking DEMO-1 through the demo's page failed"
else
    step notice.received '{"order":"DEMO-1"}'
    step card.collected '{"order":"DEMO-1"}'
    step card.stored '{"order":"DEMO-1","locked":true}'
    step handover.completed '{"order":"DEMO-1","serial":"'"$SERIAL"'","id_checked":true,"right_person":true,"pin_envelope":true}'
fi
demo1_at "$T/hubjar" 7180 handed-over "the hub does not see DEMO-1 handed over"
ok "DEMO-1 walked from the notice to the hand-over at the office; the hub sees it handed over"

kill -TERM "$DEMO"
rc=0
wait "$DEMO" || rc=$?
[[ $rc == 0 ]] || fail "the demo exited with $rc after SIGTERM: $(tail -5 "$T/demo.out")"
[[ ! -e "$DIR" ]] || fail "the demo left $DIR behind"
grep -q "daemons said goodbye" "$T/demo.out" || fail "the demo did not say it stopped"
ok "Ctrl-C stops the demo's daemons and removes its directory"
