#!/usr/bin/env bash
# Exactly once across kill -9: 2,000 firings are set off by one burst of
# price changes; the daemon is killed mid-burst and restarted; the result is
# exactly 2,000 delivery_log and agent_task rows, one per rule.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
# 40 symbols x 50 ONCE level rules, none holding at 10
it_sql -c "INSERT INTO market_snapshot (symbol, price) SELECT 'S' || s, 10 FROM generate_series(1, 40) s"
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
	SELECT '$T1', 'p1', 'S' || s, jsonb_build_object('operator', '>', 'value', 100 + r)
	FROM generate_series(1, 40) s, generate_series(1, 50) r"

it_config
sed -i 's/batch_max_rows: 500/batch_max_rows: 50/' "$it_tmp/leo.yaml"
it_start
# one statement per symbol: 40 notifications, each making 50 firings
for s in $(seq 1 40); do echo "UPDATE market_snapshot SET price = 1000 WHERE symbol = 'S$s';"; done |
	it_sql &
feeder=$!
it_wait "SELECT count(*) > 0 FROM delivery_log" 20
it_stop d KILL
wait $feeder
mid=$(it_sql -c "SELECT count(*) FROM delivery_log")
echo "killed with $mid of 2000 written"
[ "$mid" -lt 2000 ] || echo "note: the burst finished before the kill"

it_start
it_wait "SELECT count(*) = 2000 FROM delivery_log" 60
sleep 0.5
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" 2000 "deliveries"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 2000 "agent tasks"
it_eq "$(it_sql -c "SELECT count(DISTINCT rule_id) FROM delivery_log")" 2000 "distinct rules"
it_eq "$(it_sql -c "SELECT count(*) FROM alert_rules WHERE status = 'TRIGGERED' AND trigger_count = 1")" \
	2000 "rules TRIGGERED once"
it_stop
