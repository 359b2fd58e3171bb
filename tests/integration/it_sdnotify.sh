#!/usr/bin/env bash
# systemd protocol and health endpoints: READY=1 only once rules are
# loaded, STATUS= lines, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1;
# /readyz 503 while the database is unreachable, 200 once loaded; /healthz
# 200 throughout.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1

sock=$it_tmp/notify.sock
python3 - "$sock" "$it_tmp/notify.txt" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
stops = 0
with open(sys.argv[2], "a", buffering=1) as out:
    while stops < 2:    # two daemons run in turn
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in msg.splitlines():
            print(line, file=out)
        if "STOPPING=1" in msg:
            stops += 1
PY
receiver=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
export NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000

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
wait $receiver || true
it_eq "$(grep -c '^STOPPING=1$' "$it_tmp/notify.txt")" 2 "STOPPING=1 from each daemon"
