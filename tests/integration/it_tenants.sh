#!/usr/bin/env bash
# Tenant isolation: two tenants with the same profile id, symbol and rule
# text; each firing is written under its own tenant only.  A suspended
# tenant's rules stop firing; re-activated, they come back.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_tenant "$T2" t2
for t in "$T1" "$T2"; do
	it_profile "$t" shared
	it_consent "$t" shared email granted
done
it_price ACME 10
r1=$(it_rule "$T1" shared ACME '{"operator": "crosses_above", "value": 20}' REARM)
r2=$(it_rule "$T2" shared ACME '{"operator": "crosses_above", "value": 20}' REARM)
[ "$r1" != "$r2" ] || it_fail "same rule id for two tenants"

it_config
it_start
it_price ACME 21
it_wait "SELECT count(*) = 2 FROM delivery_log"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE tenant_id = '$T1' AND rule_id = '$r1'")" 1 \
	"tenant 1 delivery under tenant 1"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE tenant_id = '$T2' AND rule_id = '$r2'")" 1 \
	"tenant 2 delivery under tenant 2"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task WHERE (tenant_id = '$T1') = (rule_id = '$r1')")" 2 \
	"agent_task rows under their own tenant"
# what the daemon's role sees under tenant 1: only tenant 1's rows
it_eq "$(psql -X -q -At -d "$it_db" -U leo_daemon -c "BEGIN" \
	-c "SELECT set_config('app.current_tenant_id', '$T1', true)" \
	-c "SELECT count(*) FROM delivery_log" -c "COMMIT" | sed -n 2p)" 1 "RLS: tenant 1 sees its row"

# suspend tenant 2: its rule is dropped; tenant 1 keeps firing
it_sql -c "UPDATE tenant SET status = 'suspended' WHERE tenant_id = '$T2'"
it_wait_log d "tenant $T2 not active" 10
it_price ACME 19
it_price ACME 22
it_wait "SELECT count(*) = 2 FROM delivery_log WHERE tenant_id = '$T1'"
sleep 0.3
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE tenant_id = '$T2'")" 1 \
	"suspended tenant does not fire"
it_sql -c "UPDATE tenant SET status = 'active' WHERE tenant_id = '$T2'"
it_wait_log d "tenant $T2 active" 10
it_price ACME 19
it_price ACME 23
it_wait "SELECT count(*) = 2 FROM delivery_log WHERE tenant_id = '$T2'"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE tenant_id = '$T1'")" 3 \
	"tenant 1 deliveries"
it_stop
