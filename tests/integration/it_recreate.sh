#!/usr/bin/env bash
# A rule deleted and inserted again is the same rule_id (the hash of its
# content).  Its firings go on from the last one written: the new row
# starts at the old trigger_count, so the next firing's idempotency key
# and task id are new and nothing is dropped as a duplicate.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p
it_consent "$T1" p email granted
it_price ACME 10
logic='{"operator": "crosses_above", "value": 20}'
r=$(it_rule "$T1" p ACME "$logic" REARM)

it_config stats
it_start
it_price ACME 21
it_wait "SELECT count(*) = 1 FROM delivery_log"
it_sql -c "DELETE FROM alert_rules WHERE rule_id = '$r'"
it_eq "$(it_rule "$T1" p ACME "$logic" REARM)" "$r" "the same rule inserted again has the same id"
it_eq "$(it_sql -c "SELECT trigger_count FROM alert_rules WHERE rule_id = '$r'")" 1 \
	"it goes on from its last firing"
it_settle
it_price ACME 19
it_price ACME 22
it_wait "SELECT count(*) = 2 FROM delivery_log"
it_eq "$(it_sql -c "SELECT string_agg(idempotency_key, ' ' ORDER BY delivery_id) FROM delivery_log")" \
	"$r:1 $r:2" "a new key for the new firing"
it_eq "$(it_sql -c "SELECT string_agg(task_id, ' ' ORDER BY task_id) FROM agent_task")" \
	"$r:1 $r:2" "and a new task id"
it_eq "$(it_metric leo_deliveries_written_total)" 2 "both counted as written"

# Only the daemon's own task ids count: another task naming the rule, and
# another tenant's rows, leave the count alone.
it_sql -c "INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id, reasoning_trace,
	reasoning_summary) VALUES ('$r:note', '$T1', 'p', '$r', '[]', 'a note')"
it_sql -c "DELETE FROM alert_rules WHERE rule_id = '$r'"
it_eq "$(it_rule "$T1" p ACME "$logic" REARM >/dev/null; it_sql -c \
	"SELECT trigger_count FROM alert_rules WHERE rule_id = '$r'")" 2 "a foreign task id is ignored"
it_stop
