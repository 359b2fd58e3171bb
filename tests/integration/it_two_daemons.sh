#!/usr/bin/env bash
# Two daemons on one database: every firing is claimed by exactly one of
# them.  300 ONCE level rules fire once each; 20 REARM edge rules fire on
# each of 5 crossings (seq 1..5).  No duplicate, nothing missing.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_sql -c "INSERT INTO market_snapshot (symbol, price) SELECT 'S' || s, 10 FROM generate_series(1, 10) s"
it_price EDGE 10
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
	SELECT '$T1', 'p1', 'S' || s, jsonb_build_object('operator', '>', 'value', 100 + r)
	FROM generate_series(1, 10) s, generate_series(1, 30) r"
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
	SELECT '$T1', 'p1', 'EDGE', jsonb_build_object('operator', 'crosses', 'value', round(20 + r / 100.0, 2)),
	'REARM' FROM generate_series(1, 20) r"

it_config
it_start a
it_start b
it_sql -c "UPDATE market_snapshot SET price = 1000 WHERE symbol LIKE 'S%'"
for p in 30 10 30 10 30; do it_price EDGE $p; done
it_wait "SELECT count(*) = 400 FROM delivery_log" 30
sleep 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" 400 "deliveries"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 400 "agent tasks"
it_eq "$(it_sql -c "SELECT count(DISTINCT idempotency_key) FROM delivery_log")" 400 "distinct keys"
it_eq "$(it_sql -c "SELECT count(*) FROM alert_rules WHERE symbol = 'EDGE' AND trigger_count = 5")" 20 \
	"edge rules at seq 5"
it_stop a
it_stop b
