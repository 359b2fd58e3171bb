#!/usr/bin/env bash
# The daemon is frozen (SIGSTOP) while 400 statements change 60 prices each:
# its LISTEN backend blocks on the full socket, so PostgreSQL's notification
# queue holds the backlog (pg_notification_queue_usage() > 0; a few MB here,
# it_queue_full fills the queue to the brim).  Worker queues are tiny (engine.queue_capacity 16), so
# after SIGCONT the loop is pushed back over and over.  Nothing is lost:
# every crossing of every rule fires exactly once.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
nsym=60 nrules=10 nstmt=400
it_wide_symbols "$nsym" "$nrules"	# each statement's notification ~4.5 kB

IT_FLOOD_MAX=100000 it_config stats
sed -i '/^engine:/a\  queue_capacity: 16' "$it_tmp/leo.yaml"
it_start
it_eq "$(it_metric leo_rules_active)" "$nrules" "rules loaded"

kill -STOP "${it_pids[d]}"
it_flip "$nstmt"	# 10 -> 21 -> 19 -> 21 ...
stopped=$(it_sql -c "SELECT pg_notification_queue_usage()")
it_eq "$(it_sql -c "SELECT $stopped > 0")" t "notification queue holds the backlog while the daemon is stopped"
kill -CONT "${it_pids[d]}"

want=$(( (nstmt + 1) / 2 * nrules ))
it_wait "SELECT count(*) = $want FROM delivery_log" 120
# The queue's tail moves to the slowest listener of the whole cluster, and
# a listener in another database reads on only when it falls four pages
# behind: with other tests' daemons listening, usage can stay above 0 after
# this daemon has read everything.  One page of filler per poll wakes them;
# once this daemon has read its backlog, the tail follows it.
it_wait "WITH f AS (SELECT pg_notify('it_filler', repeat('x', 7900)))
	SELECT (SELECT count(*) FROM f) = 1 AND pg_notification_queue_usage() < $stopped / 4" 30
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" "$want" "every crossing delivered once"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" "$want" "one agent_task per crossing"
it_eq "$(it_sql -c "SELECT count(DISTINCT idempotency_key) FROM delivery_log")" "$want" \
	"distinct idempotency keys"
it_eq "$(it_sql -c "SELECT min(trigger_count) = max(trigger_count) AND max(trigger_count) = $(( (nstmt + 1) / 2 ))
	FROM alert_rules")" t "each rule fired once per crossing"
it_eq "$(it_metric leo_notify_errors_total)" 0 "no notification refused"
it_stop
