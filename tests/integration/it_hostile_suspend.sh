#!/usr/bin/env bash
# A tenant suspended mid-stream: while one session commits 60 price changes
# that cross two tenants' REARM rules back and forth, another suspends
# tenant 2.  A side table, locked by both transactions, records the commit
# order.  Tenant 2 fires for exactly the crossings committed before its
# suspension; tenant 1 for every crossing.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_tenant "$T2" t2
for t in "$T1" "$T2"; do
	it_profile "$t" p
	it_consent "$t" p email granted
done
it_price ACME 10
r1=$(it_rule "$T1" p ACME '{"operator": "crosses_above", "value": 20}' REARM)
r2=$(it_rule "$T2" p ACME '{"operator": "crosses_above", "value": 20}' REARM)
it_sql -c "CREATE TABLE commit_order (n bigserial PRIMARY KEY, what text NOT NULL, price numeric)"

IT_FLOOD_MAX=100000 it_config
it_start

nticks=60
(
	for i in $(seq "$nticks"); do
		p=$(( i % 2 ? 21 : 19 ))
		echo "BEGIN; LOCK TABLE commit_order IN EXCLUSIVE MODE;"
		echo "UPDATE market_snapshot SET price = $p WHERE symbol = 'ACME';"
		echo "INSERT INTO commit_order (what, price) VALUES ('tick', $p); COMMIT;"
		echo "SELECT pg_sleep(0.03);"
	done | it_sql >/dev/null
) &
ticker=$!
it_wait "SELECT count(*) >= $((nticks / 3)) FROM commit_order"
it_sql <<SQL
BEGIN;
LOCK TABLE commit_order IN EXCLUSIVE MODE;
UPDATE tenant SET status = 'suspended' WHERE tenant_id = '$T2';
INSERT INTO commit_order (what) VALUES ('suspend');
COMMIT;
SQL
wait $ticker || it_fail "the ticking session failed"

up=$((nticks / 2))
before=$(it_sql -c "SELECT count(*) FROM commit_order WHERE what = 'tick' AND price = 21
	AND n < (SELECT n FROM commit_order WHERE what = 'suspend')")
[ "$before" -gt 0 ] && [ "$before" -lt "$up" ] || it_fail "suspension not mid-stream: $before of $up"
it_wait "SELECT count(*) = $up FROM delivery_log WHERE tenant_id = '$T1'" 60
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$r1'")" "$up" \
	"tenant 1 fired on every crossing"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$r2'")" "$before" \
	"tenant 2 fired on the crossings committed before its suspension"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task WHERE tenant_id = '$T2'")" "$before" \
	"no agent_task for tenant 2 after its suspension"
it_stop
