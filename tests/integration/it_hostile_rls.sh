#!/usr/bin/env bash
# As the daemon's own login role (leo_daemon), under tenant 1's setting:
# tenant 2's rows cannot be read, changed or forged, and the role cannot
# switch row-level security off or leave its privileges.  Each attempt is
# refused by the database or finds nothing.  No daemon needed: this is
# what a compromised daemon could do with its connection.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_tenant "$T2" t2
for t in "$T1" "$T2"; do
	it_profile "$t" p
	it_consent "$t" p email granted
done
it_price ACME 10
r2=$(it_rule "$T2" p ACME '{"operator": ">", "value": 1}')
it_sql -c "INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)
	VALUES ('$T2', '$r2', 'p', 'email', 'secret')"
it_sql -c "INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id, reasoning_trace,
	reasoning_summary) VALUES ('t2-task', '$T2', 'p', '$r2', '[]', 'tenant 2 only')"

# it_daemon_sql SQL: statements as leo_daemon under tenant 1; prints the
# result, or the error.
it_daemon_sql() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$it_db" -U leo_daemon 2>&1 <<SQL
SET app.current_tenant_id = '$T1';
$1
SQL
}
# it_daemon_refused WHAT PATTERN SQL
it_daemon_refused() {
	local out
	if out=$(it_daemon_sql "$3"); then
		it_fail "$1: allowed: $out"
	fi
	grep -Eq -- "$2" <<<"$out" || it_fail "$1: unexpected error: $out"
	it_ok "$1 refused: $(grep -m1 ERROR <<<"$out" | cut -c1-110)"
}

for tab in alert_rules consent_management delivery_log agent_task; do
	it_eq "$(it_daemon_sql "SELECT count(*) FROM $tab WHERE tenant_id = '$T2'")" 0 \
		"tenant 2's $tab invisible"
done
it_eq "$(it_daemon_sql "SELECT count(*) FROM alert_rules")" 0 "tenant 1 has no rule to see"
it_eq "$(psql -X -q -At -d "$it_db" -U leo_daemon -c "SELECT count(*) FROM delivery_log")" 0 \
	"no tenant set: nothing visible"
it_eq "$(it_daemon_sql "UPDATE alert_rules SET status = 'PAUSED' WHERE rule_id = '$r2' RETURNING 1")" "" \
	"tenant 2's rule cannot be updated"
it_eq "$(it_sql -c "SELECT status FROM alert_rules WHERE rule_id = '$r2'")" ACTIVE "rule unchanged"

it_daemon_refused "forged delivery_log row for tenant 2" "row-level security" \
	"INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)
	 VALUES ('$T2', '$r2', 'p', 'email', 'forged')"
it_daemon_refused "forged agent_task row for tenant 2" "row-level security" \
	"INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id, reasoning_trace,
	 reasoning_summary) VALUES ('forged', '$T2', 'p', '$r2', '[]', 'x')"
it_daemon_refused "overwriting tenant 2's delivery by its key" "permission denied" \
	"INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)
	 VALUES ('$T1', '$r2', 'p', 'email', 'secret') ON CONFLICT (idempotency_key)
	 DO UPDATE SET delivery_status = 'failed'"
it_daemon_refused "deleting delivery_log" "permission denied" "DELETE FROM delivery_log"
it_daemon_refused "changing a rule's logic" "permission denied" \
	"UPDATE alert_rules SET condition_logic = '{}'"
it_daemon_refused "writing consent" "permission denied" \
	"UPDATE consent_management SET status = 'granted'"
it_daemon_refused "reading tenants" "permission denied" "SELECT count(*) FROM tenant"
it_daemon_refused "reading profiles" "permission denied" "SELECT count(*) FROM cdp_profiles"
it_daemon_refused "row_security off" "row-level security" \
	"SET row_security = off; SELECT count(*) FROM delivery_log"
it_daemon_refused "disabling RLS" "must be owner" \
	"ALTER TABLE delivery_log DISABLE ROW LEVEL SECURITY"
it_daemon_refused "becoming the superuser" "permission denied" "SET ROLE postgres"
it_daemon_refused "becoming the owner" "permission denied|must be" \
	"SET SESSION AUTHORIZATION postgres"
it_daemon_refused "a malformed tenant setting" "invalid input syntax for type uuid" \
	"SET app.current_tenant_id = '$T1'' OR true --'; SELECT count(*) FROM delivery_log"
it_eq "$(it_daemon_sql "SET app.current_tenant_id = '';
	SELECT count(*) FROM agent_task")" 0 "empty tenant setting: nothing visible"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")|$(it_sql -c "SELECT count(*) FROM agent_task")" \
	"1|1" "tenant 2's rows intact, nothing forged"

# One tenant per transaction: switching tenant inside a batch is refused and
# the whole transaction is lost, whichever table the second tenant's row is
# written to; a transaction of one tenant, and the next transaction of the
# other tenant, are fine.
it_sql -c "INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)
	VALUES ('$T2', '$r2', 'p', 'email', 'secret2')" # fixture row, as the owner
r1=$(it_rule "$T1" p ACME '{"operator": ">", "value": 2}')
one_t1="INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)
	VALUES ('$T1', '$r1', 'p', 'email', 'mix-1')"
it_daemon_refused "switching tenant inside a batch (delivery_log, then delivery_log)" \
	"one tenant per transaction" "BEGIN; $one_t1;
	SELECT set_config('app.current_tenant_id', '$T2', true);
	INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)
	VALUES ('$T2', '$r2', 'p', 'email', 'mix-2'); COMMIT;"
it_daemon_refused "switching tenant inside a batch (delivery_log, then agent_task)" \
	"one tenant per transaction" "BEGIN; $one_t1;
	SELECT set_config('app.current_tenant_id', '$T2', true);
	INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id, reasoning_trace,
	reasoning_summary) VALUES ('mix-3', '$T2', 'p', '$r2', '[]', 'x'); COMMIT;"
it_daemon_refused "switching tenant inside a batch (claim, then claim)" \
	"one tenant per transaction" "BEGIN;
	UPDATE alert_rules SET trigger_count = 1 WHERE rule_id = '$r1';
	SELECT set_config('app.current_tenant_id', '$T2', true);
	UPDATE alert_rules SET trigger_count = 1 WHERE rule_id = '$r2'; COMMIT;"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE idempotency_key LIKE 'mix-%'")|$(it_sql -c \
	"SELECT count(*) FROM agent_task WHERE task_id LIKE 'mix-%'")|$(it_sql -c \
	"SELECT sum(trigger_count) FROM alert_rules")" "0|0|0" "nothing of a mixed transaction committed"
it_eq "$(it_daemon_sql "BEGIN; $one_t1; UPDATE alert_rules SET trigger_count = 1 WHERE rule_id = '$r1'; COMMIT;
	BEGIN; SELECT set_config('app.current_tenant_id', '$T2', true) IS NOT NULL;
	UPDATE alert_rules SET trigger_count = 1 WHERE rule_id = '$r2'; COMMIT;" | tr '\n' ' ')" \
	"t " "one tenant per transaction, then the other: allowed"
it_eq "$(it_sql -c "SELECT string_agg(tenant_id || ':' || trigger_count, ' ' ORDER BY tenant_id)
	FROM alert_rules")" "$T1:1 $T2:1" "both transactions committed"
