#!/usr/bin/env bash
# A flood of 100,000 malformed notifications on the market channel, in ten
# transactions from another session, while real price changes keep crossing
# a REARM rule: every real crossing fires exactly once, every malformed
# payload is counted (leo_notify_errors_total) and logged, none is fatal.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_price ACME 10
rule=$(it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 20}' REARM)

IT_FLOOD_MAX=100000 it_config stats
it_start

# five kinds of garbage, each payload distinct (NOTIFY folds duplicates):
# no header, a bad number, an xid beyond 64 bits, a symbol beyond 64
# characters, a row with four fields
(
	for b in $(seq 0 9); do
		it_sql -c "SELECT count(pg_notify('leo_market', CASE g % 5
			WHEN 0 THEN 'junk ' || g
			WHEN 1 THEN E'M1 ' || g || E'\nACME\t1\tx' || g || E'\t\t'
			WHEN 2 THEN 'M1 ' || repeat('9', 30) || g
			WHEN 3 THEN E'M1 5\n' || repeat('A', 65) || g || E'\t1\t2\t\t'
			ELSE E'M1 7\nACME\t1\t2\t' || g END))
			FROM generate_series($((b * 10000 + 1)), $(((b + 1) * 10000))) g" >/dev/null
	done
) &
flood=$!

# 20 real crossings meanwhile, each its own transaction
crossings=20
for i in $(seq "$crossings"); do
	echo "UPDATE market_snapshot SET price = 19 WHERE symbol = 'ACME';"
	echo "UPDATE market_snapshot SET price = 21 WHERE symbol = 'ACME';"
	echo "SELECT pg_sleep(0.05);"
done | it_sql >/dev/null
wait $flood || it_fail "the flood's session failed"

it_wait "SELECT count(*) = $crossings FROM delivery_log" 60
t=600
while [ "$(it_metric leo_notify_errors_total)" != 100000 ] && [ $t -gt 0 ]; do
	sleep 0.1
	t=$((t - 1))
done
it_eq "$(it_metric leo_notify_errors_total)" 100000 "every malformed payload counted"
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$rule'")" "$crossings" \
	"every real crossing delivered once"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task WHERE rule_id = '$rule'")" "$crossings" \
	"one agent_task per crossing"
it_eq "$(grep -c 'notification on leo_market ignored' "$it_tmp/daemon-d.log")" 100000 \
	"one log line per malformed payload"
it_stop
