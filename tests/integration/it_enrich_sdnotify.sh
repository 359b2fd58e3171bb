#!/usr/bin/env bash
# it_enrich_sdnotify: leo-enrich under the systemd protocol and its health
# endpoints: without its database it runs (/healthz 200) but is not ready
# (/readyz 503, no READY=1); with it, READY=1 and a STATUS= line once the
# first claim answered, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on
# SIGTERM, /readyz 200.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_enrich.sh"
it_newdb

it_notify
code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$it_port$1"; }

enrich_config x "poll_interval_s: 1"
sed -i "s/dbname=$it_db/dbname=${it_db}_absent/" "$it_tmp/x.yaml"
"$LEO_ENRICH_BIN" --config "$it_tmp/x.yaml" >>"$it_tmp/daemon-x.log" 2>&1 &
it_pids[x]=$!
it_wait_log x "stats: serving" 10
sleep 1.5
it_eq "$(code /healthz)" 200 "/healthz without a database"
it_eq "$(code /readyz)" 503 "/readyz without a database"
it_stop x
grep -q '^READY=1$' "$it_tmp/notify.txt" && it_fail "READY=1 without a database"
it_ok "no READY=1 without a database"

enrich_config e "poll_interval_s: 1"
enrich_start e
sleep 1
it_eq "$(code /readyz)" 200 "/readyz once the queue answered"
it_stop e
for _ in $(seq 50); do [ "$(grep -c '^STOPPING=1$' "$it_tmp/notify.txt")" -ge 2 ] && break; sleep 0.1; done
grep -q '^READY=1$' "$it_tmp/notify.txt" || it_fail "no READY=1"
grep -q '^STATUS=working the embedding queue$' "$it_tmp/notify.txt" || it_fail "no STATUS= line"
[ "$(grep -c '^WATCHDOG=1$' "$it_tmp/notify.txt")" -ge 3 ] || it_fail "fewer than 3 WATCHDOG=1 in a second"
it_ok "READY=1, STATUS=, WATCHDOG=1, STOPPING=1"
echo "it_enrich_sdnotify: all ok"
