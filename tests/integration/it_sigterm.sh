#!/usr/bin/env bash
# SIGTERM right after a burst: every firing decided is written before the
# daemon exits 0.  The rules are REARM edge rules, which a restart would not
# fire again, so a firing lost at shut-down would stay lost.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_sql -c "INSERT INTO market_snapshot (symbol, price) SELECT 'S' || s, 10 FROM generate_series(1, 20) s"
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
	SELECT '$T1', 'p1', 'S' || s, jsonb_build_object('operator', 'crosses_above', 'value', round(20 + r / 100.0, 2)),
	'REARM' FROM generate_series(1, 20) s, generate_series(1, 50) r"

it_config
sed -i 's/batch_max_rows: 500/batch_max_rows: 10/' "$it_tmp/leo.yaml"
it_start
it_sql -c "UPDATE market_snapshot SET price = 100"
it_wait "SELECT count(*) > 0 FROM delivery_log"
kill -TERM "${it_pids[d]}"
echo "SIGTERM with $(it_sql -c "SELECT count(*) FROM delivery_log") of 1000 written"
it_reap d
n=$(it_sql -c "SELECT count(*) FROM delivery_log")
it_eq "$n" 1000 "deliveries written before exit"
