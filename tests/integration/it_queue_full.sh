#!/usr/bin/env bash
# PostgreSQL's notification queue filled to the brim, and recovering.
#
# A session LISTENs on leo_delivery and then sits in an open transaction (a
# stuck sender: PostgreSQL's own hint names such a session), the daemon is
# frozen with SIGSTOP while 400 statements change prices, and filler
# notifications fill the queue until PostgreSQL refuses the next NOTIFY
# ("too many notifications in the NOTIFY queue": 8 GB on PostgreSQL 15 and
# 16, which cannot make it smaller; 32 MB through max_notify_queue_pages from
# 17 on).  Then:
#   - a price change is refused by the database: nothing committed, nothing
#     to fire;
#   - after SIGCONT the daemon reads its backlog, decides and commits every
#     firing (a firing's transaction does not notify), but the announcements
#     of its deliveries on leo_delivery are refused: kept and retried, not
#     dropped; the queue usage shows on /metrics; its resyncs (every 2 s
#     here, so that they fall due while the backlog waits) wait for the
#     backlog and, their fences refused, are postponed;
#   - once the stuck session ends, the deliveries are announced, nothing was
#     written twice, and the feed works again.
# The queue belongs to the whole cluster, so this test runs its own.
. "$(dirname "$0")/lib.sh"

chmod 755 "$it_tmp"		# the server runs as postgres under root
pg=$it_tmp/pg
qf_cleanup() {
	local rc=$?
	"$it_top/scripts/pgtmp.sh" stop "$pg" >/dev/null 2>&1 || true
	set +e		# hand rc to it_cleanup, which prints the logs and removes it_tmp
	(exit $rc)
	it_cleanup
}
trap qf_cleanup EXIT
eval "$("$it_top/scripts/pgtmp.sh" start "$pg")"
export PGHOST PGPORT PGUSER
if [ "$(psql -X -At -d postgres -c "SHOW server_version_num")" -ge 170000 ]; then
	psql -X -q -d postgres -c "ALTER SYSTEM SET max_notify_queue_pages = 4096"
	"$it_top/scripts/pgtmp.sh" restart "$pg" >/dev/null
else
	avail=$(df -P -k "$pg" | awk 'NR == 2 { print int($4 / 1048576) }')
	if [ "$avail" -lt 10 ]; then
		echo "skipped: the 8 GB notification queue needs 10 GB free in $pg's file system, $avail GB there"
		exit 77
	fi
fi
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $it_db"
"$it_top/scripts/schema-apply.sh" "$it_db"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE leo_daemon LOGIN" \
	-c "GRANT leo_alertd TO leo_daemon"

it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
nsym=60 nrules=10 nstmt=400
it_wide_symbols "$nsym" "$nrules"
IT_FLOOD_MAX=100000 IT_RESYNC=2 it_config stats
it_start

# the stuck session: listening, its transaction open, so the queue keeps
# everything from here on
it_hold "LISTEN leo_delivery; BEGIN; SELECT 'held';" held

kill -STOP "${it_pids[d]}"
it_flip "$nstmt"
# filler of 80 MB a transaction until PostgreSQL refuses the next one
full=""
for i in $(seq 120); do
	if ! out=$(it_sql -c "SELECT count(pg_notify('it_filler', $i || ':' || g || repeat('x', 7900)))
		FROM generate_series(1, 10000) g" 2>&1); then
		full=$out
		break
	fi
done
grep -q "too many notifications in the NOTIFY queue" <<<"$full" ||
	it_fail "the queue did not fill: ${full:-no error after 120 transactions}"
it_ok "queue full after $((i - 1)) filler transactions, usage $(it_sql -c "SELECT round(pg_notification_queue_usage()::numeric, 4)")"
if out=$(it_sql -c "UPDATE market_snapshot SET price = 21 WHERE symbol LIKE 'Q%'" 2>&1); then
	it_fail "a price change was accepted with the queue full"
fi
grep -q "too many notifications" <<<"$out" || it_fail "unclear refusal: $out"
it_eq "$(it_sql -c "SELECT count(*) FROM market_snapshot WHERE price <> 19")" 0 \
	"the refused price change committed nothing"

kill -CONT "${it_pids[d]}"
want=$(( nstmt / 2 * nrules ))
ticks=$(( nstmt * nsym ))
# PostgreSQL hands the daemon its backlog only as fast as its backend reads
# the 8 GB of filler pages in front of it, which a loaded machine slows down:
# wait while the count moves, and give up only after 60 s without progress.
seen=-1 still=0
while [ "$still" -lt 600 ]; do
	got=$(it_metric leo_ticks_received_total)
	[ "$got" = "$ticks" ] && break
	if [ "$got" = "$seen" ]; then still=$((still + 1)); else seen=$got still=0; fi
	sleep 0.1
done
it_eq "$(it_metric leo_ticks_received_total)" "$ticks" "the daemon read its whole backlog"
it_wait "SELECT count(*) = $want FROM delivery_log" 120
it_ok "every firing committed while the queue is full"
for _ in $(seq 300); do
	[ "$(it_metric leo_pg_notification_queue_usage)" != 0 ] && break
	sleep 0.1
done
it_eq "$(it_sql -c "SELECT $(it_metric leo_pg_notification_queue_usage) > 0.99")" t \
	"leo_pg_notification_queue_usage shows the full queue"
grep -q "not yet announced on leo_delivery; retrying: .*too many notifications" \
	"$it_tmp/daemon-d.log" || it_fail "no refused announcement in the log"
it_ok "refused announcements are kept for a retry"
it_eq "$(it_sql -c "SELECT $(it_metric leo_deliveries_unannounced) > 0")" t \
	"leo_deliveries_unannounced counts them"
for _ in $(seq 100); do
	grep -q "resync postponed: .*too many notifications" "$it_tmp/daemon-d.log" && break
	sleep 0.1
done
grep -q "resync postponed: .*too many notifications" "$it_tmp/daemon-d.log" ||
	it_fail "no resync postponed while the queue is full"
it_ok "resyncs are postponed while the queue is full"

it_release
it_wait_log d "deliveries announced on leo_delivery after" 60
it_ok "the kept announcements are sent once the stuck session ended"
it_eq "$(it_metric leo_deliveries_unannounced)" 0 "... and is 0 again"
it_sql -c "UPDATE market_snapshot SET price = 21 WHERE symbol LIKE 'Q%'"
want=$(( want + nrules ))
it_wait "SELECT count(*) = $want FROM delivery_log" 30
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" "$want" "every crossing delivered once"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" "$want" "one agent_task per crossing"
it_eq "$(it_sql -c "SELECT count(DISTINCT idempotency_key) FROM delivery_log")" "$want" \
	"distinct idempotency keys"
it_eq "$(it_sql -c "SELECT min(trigger_count) = max(trigger_count) AND max(trigger_count) = $(( nstmt / 2 + 1 ))
	FROM alert_rules")" t "each rule fired once per crossing"
it_eq "$(it_metric leo_notify_errors_total)" 0 "no notification refused"
! grep -q "dropped" "$it_tmp/daemon-d.log" || it_fail "a firing was dropped: $(grep -m1 dropped "$it_tmp/daemon-d.log")"
it_stop
