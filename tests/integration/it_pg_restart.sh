#!/usr/bin/env bash
# PostgreSQL restarted under the daemon (RUN_SERIAL: it restarts the shared
# cluster).  The daemon is paused across the restart so that the price
# moves while it is away: 51 -> 30 -> 35.  On reconnect the move from the
# last price it saw (51) to the current one (35) is ONE observed change, so
# crosses_below 45 fires once; a rule inserted meanwhile is loaded; the
# writers reconnect too.
. "$(dirname "$0")/lib.sh"
: "${LEO_PGDIR:?LEO_PGDIR must name the throwaway cluster directory}"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_price ACME 10
up=$(it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 50}' REARM)
down=$(it_rule "$T1" p1 ACME '{"operator": "crosses_below", "value": 45}' REARM)

it_config stats
it_start
it_price ACME 51
it_wait "SELECT count(*) = 1 FROM delivery_log WHERE rule_id = '$up'"

kill -STOP "${it_pids[d]}"
"$it_top/scripts/pgtmp.sh" restart "$LEO_PGDIR" >/dev/null
it_price ACME 30
it_price ACME 35
added=$(it_rule "$T1" p1 ACME '{"operator": "<", "value": 40}')
kill -CONT "${it_pids[d]}"

it_wait_log d "reloaded after reconnect" 30
it_wait "SELECT count(*) = 1 FROM delivery_log WHERE rule_id = '$down'"
it_wait "SELECT count(*) = 1 FROM delivery_log WHERE rule_id = '$added'"
it_eq "$(it_sql -c "SELECT reasoning_trace->0->'previous'->>'price' || ' -> ' ||
	(reasoning_trace->0->'observed'->>'price') FROM agent_task WHERE rule_id = '$down'")" \
	"51 -> 35" "catch-up change"
[ "$(it_metric leo_db_reconnects_total)" -ge 1 ] || it_fail "leo_db_reconnects_total not counted"
it_ok "reconnect counted"

# and it keeps working: the writers' connections were replaced too
it_price ACME 55
it_wait "SELECT count(*) = 2 FROM delivery_log WHERE rule_id = '$up'"
sleep 0.3
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$down'")" 1 \
	"crosses_below fired exactly once"
it_stop
# one line per event: libpq's messages about the restart went through the log.
# Known exception, rare and not yet traced: the server's shutdown notice
# reaching a writer connection is sometimes printed by libpq's default
# notice processor, unformatted; it is counted apart so it cannot hide others.
raw=$(grep -cvE '^[0-9-]{10}T[0-9:.]{12}Z (debug|info|warn|error) \[[^]]+\] ' "$it_tmp/daemon-d.log" || true)
known=$(grep -cxE 'FATAL:  terminating connection due to administrator command' "$it_tmp/daemon-d.log" || true)
[ "$known" -eq 0 ] || echo "note: $known unformatted shutdown notice line(s) from libpq"
it_eq "$((raw - known))" 0 "log lines not in the log's format"
