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
it_behind

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

it_caught_up
it_eq "$(it_metric 'leo_queue_depth{queue="worker"}')" 0 "nothing left waiting"
it_stop
