#!/usr/bin/env bash
# A rule changed or deleted after the price change that fired it committed,
# but before the firing is written, still gets that firing: paused, it is
# claimed and delivered; deleted, its agent_task row says so and nothing is
# sent.  The writer is held back by a lock on news_feed (its statement
# reads it) while the rules change.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p
it_consent "$T1" p email granted
it_price ACME 10
paused=$(it_rule "$T1" p ACME '{"operator": "crosses_above", "value": 20}' REARM)
gone=$(it_rule "$T1" p ACME '{"operator": "crosses_above", "value": 21}' REARM)

it_config stats
it_start
psql -X -q -d "$it_db" -c "BEGIN" -c "LOCK TABLE news_feed IN ACCESS EXCLUSIVE MODE" \
	-c "SELECT pg_sleep(3600)" >/dev/null 2>&1 &
locker=$!
it_wait "SELECT count(*) = 1 FROM pg_locks WHERE relation = 'news_feed'::regclass AND granted
	AND mode = 'AccessExclusiveLock'"
it_price ACME 22
it_wait "SELECT count(*) > 0 FROM pg_locks WHERE relation = 'news_feed'::regclass AND NOT granted"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 0 "the writer is held back"
it_sql -c "UPDATE alert_rules SET status = 'PAUSED' WHERE rule_id = '$paused'"
it_sql -c "DELETE FROM alert_rules WHERE rule_id = '$gone'"
it_sql -c "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE relation = 'news_feed'::regclass
	AND granted AND mode = 'AccessExclusiveLock'" >/dev/null
wait "$locker" || true
it_wait "SELECT count(*) = 2 FROM agent_task"

it_eq "$(it_sql -c "SELECT string_agg(rule_id, ' ') FROM delivery_log")" "$paused" \
	"the paused rule's firing is delivered"
it_eq "$(it_sql -c "SELECT trigger_count || ' ' || status FROM alert_rules WHERE rule_id = '$paused'")" \
	"1 PAUSED" "claimed; the user's status is kept"
it_eq "$(it_sql -c "SELECT task_id || ' ' || (profile_id IS NULL) || ' ' ||
	(reasoning_trace->1->>'reason') || ' ' || (reasoning_trace->0->'observed'->>'price')
	FROM agent_task WHERE rule_id = '$gone'")" "$gone:1 true rule_deleted 22" \
	"the deleted rule's firing: an agent_task row that says why"
it_eq "$(it_metric 'leo_deliveries_suppressed_total{reason="rule_deleted"}')" 1 "counted"
it_eq "$(it_metric leo_deliveries_written_total)" 1 "one delivery"
it_wait_log d "was deleted before the firing was written" 5
it_ok "logged"
it_stop
