#!/usr/bin/env bash
# Back-pressure without blocking the loop.  A session holds every
# alert_rules row locked, so the writers' claims wait; with queues of 16
# slots the writers' queues fill, then the workers'.  The loop does not wait
# on them: it stops reading notifications (PostgreSQL keeps them) and goes
# on with its timers and signals — a SIGHUP is handled at once, /healthz
# answers within 100 ms, and leo_listen_throttled_seconds_total counts the
# time.  Released, every price change is read and every firing written
# exactly once.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
nrules=100 nstmt=400
it_price S 10
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
	SELECT '$T1', 'p1', 'S', jsonb_build_object('operator', 'crosses_above', 'value', round(19.5 + g / 1000.0, 3)),
	'REARM' FROM generate_series(1, $nrules) g"
IT_FLOOD_MAX=100000 it_config stats
sed -i '/^engine:/a\  queue_capacity: 16' "$it_tmp/leo.yaml"
it_start

it_hold "BEGIN; SELECT count(*) FROM (SELECT FROM alert_rules FOR UPDATE) r;" "$nrules"
it_flip "$nstmt"
for _ in $(seq 300); do
	[ "$(it_metric 'leo_queue_depth{queue="worker"}')" -ge 16 ] && break
	sleep 0.1
done
it_eq "$(it_sql -c "SELECT $(it_metric 'leo_queue_depth{queue="worker"}') >= 16")" t "the worker queue is full"
it_eq "$(it_sql -c "SELECT $(it_metric leo_ticks_received_total) < $nstmt")" t \
	"the loop stopped reading price changes"

# the loop still runs: its signal events
kill -HUP "${it_pids[d]}"
it_wait_log d "SIGHUP: reloading" 2
it_ok "SIGHUP handled while the workers are behind"
for _ in $(seq 50); do
	[ "$(it_metric leo_listen_throttled_seconds_total)" -ge 1 ] && break
	sleep 0.1
done
it_eq "$(it_sql -c "SELECT $(it_metric leo_listen_throttled_seconds_total) >= 1")" t \
	"leo_listen_throttled_seconds_total counts the time held"
for path in healthz readyz; do
	out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 2 \
		"http://127.0.0.1:$it_port/$path")
	it_eq "${out% *}" 200 "/$path answers while throttled"
	it_eq "$(awk -v t="${out#* }" 'BEGIN { print (t < 0.1) ? "fast" : t }')" fast \
		"/$path within 100 ms"
done
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" 0 "nothing written while the rows are locked"

it_release
want=$(( nstmt / 2 * nrules ))
it_wait "SELECT count(*) = $want FROM delivery_log" 120
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" "$want" "every crossing delivered once"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" "$want" "one agent_task per crossing"
it_eq "$(it_metric leo_ticks_received_total)" "$nstmt" "every price change received"
it_eq "$(it_metric 'leo_queue_depth{queue="worker"}')" 0 "nothing left waiting"
it_stop
