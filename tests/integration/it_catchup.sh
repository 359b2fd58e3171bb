#!/usr/bin/env bash
# Nothing lost while the daemon is down: a level rule inserted while it was
# stopped fires at start against the current price; an edge rule does not
# (no observed change); a consent revoked while down suppresses; a rule
# deleted while down is gone; a rule paused while down does not fire.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_profile "$T1" p2
it_consent "$T1" p1 email granted
it_consent "$T1" p2 email granted
it_price ACME 10
deleted=$(it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 50}')
paused=$(it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 51}')

it_config
it_start
it_stop

# while down
level=$(it_rule "$T1" p1 ACME '{"operator": "<", "value": 20}')
edge=$(it_rule "$T1" p1 ACME '{"operator": "crosses_below", "value": 20}')
p2rule=$(it_rule "$T1" p2 ACME '{"operator": "<=", "value": 10}')
it_sql -c "UPDATE consent_management SET status = 'revoked', revoked_at = now() WHERE profile_id = 'p2'"
it_sql -c "DELETE FROM alert_rules WHERE rule_id = '$deleted'"
it_sql -c "UPDATE alert_rules SET status = 'PAUSED' WHERE rule_id = '$paused'"

it_start
it_wait "SELECT count(*) = 2 FROM agent_task"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$level'")" 1 \
	"level rule added while down fired at start"
it_eq "$(it_sql -c "SELECT reasoning_trace->0->'previous' = 'null' FROM agent_task
	WHERE rule_id = '$level'")" t "trace says: checked at load, no previous value"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$p2rule'")" 0 \
	"consent revoked while down: no delivery"
it_eq "$(it_sql -c "SELECT reasoning_trace->1->>'result' FROM agent_task WHERE rule_id = '$p2rule'")" \
	revoked "consent revoked while down: recorded"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task WHERE rule_id = '$edge'")" 0 \
	"edge rule added while down does not fire without a change"
it_price ACME 60
it_price ACME 15
it_wait "SELECT count(*) = 1 FROM agent_task WHERE rule_id = '$edge'"
sleep 0.3
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task WHERE rule_id IN ('$deleted', '$paused')")" 0 \
	"rules deleted or paused while down do not fire"

# a restart never fires a level episode twice
it_stop
it_start
sleep 0.5
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 3 "no firing repeated by a restart"
it_stop
