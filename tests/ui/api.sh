#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The web interface's server and API against a real daemon and database (curl on 127.0.0.1):
# the one-time login link (works once, not twice, not after its time, not when altered); the
# session cookie (HttpOnly, SameSite=Strict); every page and API call refused without it; a POST
# without the CSRF token refused and nothing written; a request from another origin or naming
# another host refused; the rules' refusals as 409 with the reason; personal data refused; a
# step written through the API reaches the office's peer; the invoice CSV download; the daemon
# stops promptly with a browser connection open; ui = off and a non-loopback address.
# shellcheck source=tests/sync/lib.sh
source "$(dirname "$0")/../sync/lib.sh"
command -v curl >/dev/null || fail "curl is needed"

office_with_card hub o A1
assign_ports hub o ui
kn "$T/o" ui --print
expect_rc 1 "kortnod ui without a running daemon"
expect_text "the daemon is not running" "$ERR" "kortnod ui without a daemon"
start hub
peer o hub
start o "${PORT[ui]}"
wait_log o "web interface on http://127.0.0.1:${PORT[ui]}/" 10 "o's web interface"
wait_seq o hub "$(seq_of hub hub)" 15 "o gets the hub's entries"
BASE="http://127.0.0.1:${PORT[ui]}"

# curl_ ARGS... - one request; status in CODE, body in BODY, headers in HDRS.
curl_() {
    local out
    out=$(curl -s -o "$T/.body" -D "$T/.hdrs" -w '%{http_code}' "$@") || fail "curl $*"
    CODE=$out
    BODY=$(cat "$T/.body")
    HDRS=$(cat "$T/.hdrs")
}

# ---- logging in ----
curl_ "$BASE/"
[[ $CODE == 401 && "$BODY" =~ "kortnod ui" ]] || fail "the page without a session: $CODE $BODY"
curl_ "$BASE/api/status"
[[ $CODE == 401 ]] || fail "the API without a session: $CODE"
kn "$T/o" ui --print
expect_rc 0 "kortnod ui --print"
LINK=$(head -1 <<<"$OUT")
[[ "$LINK" =~ ^$BASE/login\?t=[0-9a-f]{64}$ ]] || fail "the login link: $LINK"
[[ "$(stat -c %a "$T/o/ui-login")" == 600 ]] || fail "DATA/ui-login is not mode 0600"
last=${LINK: -1}
curl_ "${LINK%?}$([[ $last == 0 ]] && echo 1 || echo 0)" # altered: its last digit changed
[[ $CODE == 403 ]] || fail "an altered login link: $CODE"
curl_ -c "$T/jar" "$LINK"
[[ $CODE == 303 ]] || fail "the login link: $CODE $BODY"
grep -qi '^set-cookie: kn_session=[0-9a-f]\{64\}; Path=/; HttpOnly; SameSite=Strict' <<<"$HDRS" ||
    fail "the session cookie: $HDRS"
grep -qi "^content-security-policy: default-src 'self'" <<<"$HDRS" || fail "no CSP: $HDRS"
curl_ "$LINK"
[[ $CODE == 403 ]] || fail "the login link a second time: $CODE"
ok "the one-time link logs in once (an altered one never); the cookie is HttpOnly, SameSite=Strict"

kn "$T/o" ui --print
LINK2=$(head -1 <<<"$OUT")
python3 - "$T/o/ui-login" <<'EOF'
import sys
h, _ = open(sys.argv[1]).read().split()
open(sys.argv[1], "w").write(f"{h} 1000\n")
EOF
curl_ "$LINK2"
[[ $CODE == 403 ]] || fail "an expired login link: $CODE"
ok "an expired link is refused"

curl_ -b "$T/jar" "$BASE/api/session"
[[ $CODE == 200 ]] || fail "api/session: $CODE $BODY"
CSRF=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["node"]["role"] == "office" and d["node"]["office"] == "o", d; print(d["csrf"])' "$BODY") ||
    fail "api/session: $BODY"
curl_ -b "$T/jar" "$BASE/"
[[ $CODE == 200 && "$HDRS" =~ text/html ]] || fail "the page with a session: $CODE"
curl_ -b "$T/jar" "$BASE/app.js"
[[ $CODE == 200 && "$HDRS" =~ text/javascript ]] || fail "app.js: $CODE"
ok "with the cookie: the page, its script and the session (role office, office o)"

# ---- CSRF, origin, host ----
before=$(seq_of o o)
curl_ -b "$T/jar" -X POST -H 'Content-Type: application/json' -d '{"order":"A1"}' \
    "$BASE/api/step/notice.received"
[[ $CODE == 403 && "$BODY" =~ CSRF ]] || fail "a POST without the CSRF token: $CODE $BODY"
WRONG=$([[ ${CSRF:0:1} == 0 ]] && echo 1 || echo 0)${CSRF:1} # its first digit changed
curl_ -b "$T/jar" -X POST -H "X-CSRF-Token: $WRONG" -d '{"order":"A1"}' \
    "$BASE/api/step/notice.received"
[[ $CODE == 403 ]] || fail "a POST with a wrong CSRF token: $CODE $BODY"
curl_ -b "$T/jar" -X POST -H "X-CSRF-Token: $CSRF" -H "Origin: http://evil.example" \
    -d '{"order":"A1"}' "$BASE/api/step/notice.received"
[[ $CODE == 403 && "$BODY" =~ origin ]] || fail "a POST from another origin: $CODE $BODY"
curl_ -b "$T/jar" -H "Origin: http://evil.example" "$BASE/api/status"
[[ $CODE == 403 ]] || fail "a GET from another origin: $CODE $BODY"
curl_ -b "$T/jar" -H "Sec-Fetch-Site: cross-site" "$BASE/api/status"
[[ $CODE == 403 ]] || fail "a cross-site fetch: $CODE $BODY"
curl_ -b "$T/jar" -H "Host: evil.example:${PORT[ui]}" "$BASE/api/status"
[[ $CODE == 403 && "$BODY" =~ host ]] || fail "another host named: $CODE $BODY"
! grep -qi "access-control-allow" <<<"$HDRS" || fail "a CORS header was sent"
[[ "$(seq_of o o)" == "$before" ]] || fail "a refused request wrote something"
ok "no CSRF token, a wrong one, another origin, a cross-site fetch, another host: refused, nothing written"

# ---- steps ----
curl_ -b "$T/jar" -X POST -H "X-CSRF-Token: $CSRF" -d '{"order":"A1"}' \
    "$BASE/api/step/card.collected"
[[ $CODE == 409 && "$BODY" =~ "cannot follow" ]] || fail "a step out of order: $CODE $BODY"
curl_ -b "$T/jar" -X POST -H "X-CSRF-Token: $CSRF" -d '{"order":"A1","holder":"Anna"}' \
    "$BASE/api/step/notice.received"
[[ $CODE == 400 && "$BODY" =~ "personal data" ]] || fail "personal data: $CODE $BODY"
curl_ -b "$T/jar" -X POST -H "X-CSRF-Token: $CSRF" -d '[1]' "$BASE/api/step/notice.received"
[[ $CODE == 400 ]] || fail "a body that is not an object: $CODE $BODY"
curl_ -b "$T/jar" -X POST -H "X-CSRF-Token: $CSRF" -d '{}' "$BASE/api/step/no.such"
[[ $CODE == 400 ]] || fail "an unknown step: $CODE $BODY"
for s in notice.received card.collected; do
    curl_ -b "$T/jar" -X POST -H "X-CSRF-Token: $CSRF" -d '{"order":"A1"}' "$BASE/api/step/$s"
    [[ $CODE == 200 && "$BODY" =~ \"ok\":true ]] || fail "$s: $CODE $BODY"
done
curl_ -b "$T/jar" -X POST -H "X-CSRF-Token: $CSRF" -d '{"order":"A1","locked":true}' \
    "$BASE/api/step/card.stored"
[[ $CODE == 200 ]] || fail "card.stored: $CODE $BODY"
curl_ -b "$T/jar" "$BASE/api/report/orders"
python3 -c 'import json,sys; r=[x for x in json.loads(sys.argv[1]) if x["order_id"]=="A1"]; assert r and r[0]["state"]=="stored" and r[0]["handed_over_ms"] is None, r' "$BODY" ||
    fail "A1 is not stored, or has a hand-over time: $BODY"
curl_ -b "$T/jar" "$BASE/api/report/stock"
python3 -c 'import json,sys; r={x["office"]:x for x in json.loads(sys.argv[1])}["o"]; assert r["locked_storage"]==1 and r["oldest_locked_days"]==0 and r["oldest_in_transit_days"] is None, r' "$BODY" ||
    fail "api/report/stock (ageing): $BODY"
curl_ -b "$T/jar" "$BASE/api/report/orders?match=sn-a&limit=5"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert [x["order_id"] for x in r]==["A1"], r' "$BODY" ||
    fail "api/report/orders?match=sn-a: $BODY"
curl_ -b "$T/jar" "$BASE/api/report/orders?match=nothing-like-it"
[[ $CODE == 200 && "$BODY" == "[]" ]] || fail "orders matching nothing: $CODE $BODY"
for q in 'match=a%20b' 'limit=0' 'limit=1x' 'office=%27'; do
    curl_ -b "$T/jar" "$BASE/api/report/orders?$q"
    [[ $CODE == 400 ]] || fail "api/report/orders?$q: $CODE $BODY (a bad parameter must not be ignored)"
done
curl_ -b "$T/jar" "$BASE/api/report/offices"
python3 -c 'import json,sys; r={x["office"]:x for x in json.loads(sys.argv[1])}; assert r["o"]["admins"]==2 and r["o"]["status"]=="open", r' "$BODY" ||
    fail "api/report/offices: $BODY"
ok "reports: orders found by a text in their id or serial and limited, stock with the age of the oldest card, every office with its administrators; a bad parameter is a 400, never ignored"
wait_seq hub o "$(seq_of o o)" 15 "the steps reach the hub"
ok "steps through the API: the rules' refusal as 409, personal data and bad bodies as 400; three steps written and passed on to the hub"

curl_ -b "$T/jar" "$BASE/api/steps"
python3 -c 'import json,sys; d={s["type"]:s for s in json.loads(sys.argv[1])}; f={x["name"]:x for x in d["handover.completed"]["fields"]}; assert f["id_checked"]["kind"]=="bool" and f["id_checked"]["required"], f; p={x["name"]:x for x in d["appointment.booked"]["fields"]}["place_kind"]; assert "home-delivery" in p["values"] and "administrator-home" in p["values"], p' "$BODY" ||
    fail "api/steps: $BODY"
curl_ -b "$T/jar" "$BASE/api/report/appointments"
[[ $CODE == 200 && "$BODY" == "[]" ]] || fail "api/report/appointments: $CODE $BODY"
curl_ -b "$T/jar" "$BASE/api/report/invoice?month=2026-11&format=csv"
[[ $CODE == 200 && "$HDRS" =~ text/csv && "$HDRS" =~ attachment ]] || fail "invoice CSV: $CODE $HDRS"
curl_ -b "$T/jar" "$BASE/api/report/invoice"
[[ $CODE == 400 ]] || fail "invoice without a month: $CODE"
curl_ -b "$T/jar" "$BASE/api/status"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["daemon_running"] and d["hub"]["connected"], d' "$BODY" ||
    fail "api/status: $BODY"
ok "steps list, invoice CSV download, status with the hub connected"

CODE=$(curl -s -b "$T/jar" -o "$T/page.knb" -D "$T/.hdrs" -w '%{http_code}' "$BASE/api/bundle")
HDRS=$(cat "$T/.hdrs")
[[ $CODE == 200 && "$HDRS" =~ attachment && "$HDRS" =~ x-kortnod-entries ]] || fail "api/bundle: $CODE $HDRS"
# Sent from a file that is gone once sent: the daemon holds no deleted file open afterwards.
sleep 0.2
held=$(find "/proc/${DPID[o]}/fd" -lname '*.bundle-ui-*' 2>/dev/null | wc -l)
[[ $held == 0 ]] || fail "the daemon still holds $held bundle file(s) open after sending"
kn "$T/hub" bundle import "$T/page.knb"
expect_rc 0 "the hub imports the page's bundle"
expect_text "made by node ${NID[o]:0:8}" "$OUT" "the page's bundle"
ok "a sealed bundle for the hub from the API: the hub imports it"

# A sealed bundle read in through the page (a file from a USB stick): the hub's answer.
kn "$T/hub" bundle export --all --out "$T/from-hub.knb"
expect_rc 0 "the hub's bundle for o"
import_() { # FILE [CSRF] - POST it to /api/bundle/import
    CODE=$(curl -s -b "$T/jar" -o "$T/.body" -w '%{http_code}' -X POST -H "X-CSRF-Token: ${2-$CSRF}" \
        -H 'Content-Type: application/octet-stream' --data-binary "@$1" "$BASE/api/bundle/import")
    BODY=$(cat "$T/.body")
}
import_ "$T/from-hub.knb" ""
[[ $CODE == 403 ]] || fail "an import without the CSRF token: $CODE $BODY"
for round in first second; do
    import_ "$T/from-hub.knb"
    [[ $CODE == 200 && "$BODY" =~ \"ok\":true && "$BODY" =~ "the file: made by node ${NID[hub]:0:8}" ]] ||
        fail "the $round import through the page: $CODE $BODY"
done
head -c "$(($(stat -c %s "$T/from-hub.knb") - 20))" "$T/from-hub.knb" >"$T/cut.knb"
import_ "$T/cut.knb"
[[ $CODE == 409 && "$BODY" =~ "nothing was imported" ]] || fail "a cut-off bundle: $CODE $BODY"
echo "not a bundle" >"$T/junk.knb"
import_ "$T/junk.knb"
[[ $CODE == 409 && "$BODY" =~ "nothing was imported" ]] || fail "a file that is not a bundle: $CODE $BODY"
: >"$T/empty.knb"
import_ "$T/empty.knb"
[[ $CODE == 400 ]] || fail "an empty body: $CODE $BODY"
kn "$T/o" status --json
py_status='import json,sys; d=json.loads(sys.argv[1]); assert any(p["path"]=="bundle" and p["node"]=="'"${NID[hub]}"'" for p in d["peers"]), d'
python3 -c "$py_status" "$OUT" || fail "status does not show the bundle from the hub: $OUT"
ls "$T/o"/.ui-import-* >/dev/null 2>&1 && fail "an imported file was left in o's data directory"
ok "a sealed bundle read in through the page: imported (twice: nothing new), a cut-off file and one that is no bundle refused saying so, an empty body or no CSRF token refused; status shows the bundle; no file left behind"

# ---- stopping with a browser's connection open; off; loopback only ----
python3 - "${PORT[ui]}" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n" % sys.argv[1].encode())
s.recv(4096)
time.sleep(20)
EOF
STARTED+=("$!")
sleep 0.3
stop o TERM 10
[[ $STOP_RC == 0 ]] || fail "o exited with $STOP_RC"
((STOP_MS < 5000)) || fail "o took $STOP_MS ms to stop with a browser connection open"
ok "the daemon stops cleanly in $STOP_MS ms with a kept-alive browser connection open"
echo "ui = off" >>"$T/o/kortnod.conf"
"$KORTNOD" --data "$T/o" run --listen "127.0.0.1:${PORT[o]}" >>"$T/o.out" 2>>"$T/o.log" &
DPID[o]=$!
STARTED+=("$!")
wait_log o "web interface off \(ui = off\)" 10 "ui = off in kortnod.conf"
stop o TERM 10
sed -i 's/^ui = off$/ui = 0.0.0.0:7180/' "$T/o/kortnod.conf"
kn "$T/o" run --listen "127.0.0.1:${PORT[o]}"
expect_rc 1 "ui = 0.0.0.0:7180"
expect_text "ui = 127.0.0.1:PORT\|off" "$ERR" "a web interface beyond loopback"
ok "ui = off obeyed; a web interface beyond 127.0.0.1 refused in kortnod.conf"
