#!/usr/bin/env bash
# systemd protocol and health endpoints: READY=1 only once rules are
# loaded, STATUS= lines, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1;
# /readyz 503 while the database is unreachable, 200 once loaded; /healthz
# 200 throughout.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1

it_notify

http() {	# http PATH: print the status code
	python3 - "$it_port" "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}

# first a database that does not exist: running, not ready
it_config stats
sed -i "s/dbname=$it_db/dbname=${it_db}_absent/" "$it_tmp/leo.yaml"
"$LEO_BIN" --config "$it_tmp/leo.yaml" >>"$it_tmp/daemon-x.log" 2>&1 &
it_pids[x]=$!
it_wait_log x "stats: serving" 10
sleep 0.5
it_eq "$(http /healthz)" 200 "/healthz without a database"
it_eq "$(http /readyz)" 503 "/readyz without a database"
it_stop x
grep -q READY=1 "$it_tmp/notify.txt" 2>/dev/null && it_fail "READY=1 sent without rules"
grep -q '^STOPPING=1$' "$it_tmp/notify.txt" || it_fail "no STOPPING=1"
it_ok "no READY=1 without rules; STOPPING=1 at SIGTERM"

it_config stats
it_start
for _ in $(seq 50); do grep -q READY=1 "$it_tmp/notify.txt" && break; sleep 0.1; done
grep -q '^READY=1$' "$it_tmp/notify.txt" || it_fail "no READY=1"
it_ok "READY=1 once rules are loaded"
grep -q '^STATUS=rules loaded' "$it_tmp/notify.txt" || it_fail "no STATUS= line"
it_ok "STATUS= line"
it_eq "$(http /readyz)" 200 "/readyz when loaded"
it_eq "$(http /nowhere)" 404 "unknown path"
sleep 1
[ "$(grep -c '^WATCHDOG=1$' "$it_tmp/notify.txt")" -ge 2 ] || it_fail "no WATCHDOG=1 pings"
it_ok "WATCHDOG=1 pings"
it_stop
wait "${it_pids[notify]}" || true
it_eq "$(grep -c '^STOPPING=1$' "$it_tmp/notify.txt")" 2 "STOPPING=1 from each daemon"
