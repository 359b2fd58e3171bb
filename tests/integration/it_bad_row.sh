#!/usr/bin/env bash
# A firing that can never be written (here: a CHECK the test adds to
# agent_task rejects one profile) is bisected out of its batch: it alone is
# logged and dropped, the other firings of the same batch are written, and
# the daemon goes on.  A second tenant's firings of the same tick are
# written too.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" bad
it_consent "$T1" bad email granted
it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id) SELECT '$T1', 'p' || i FROM generate_series(1, 20) i"
it_sql -c "INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis)
	SELECT '$T1', 'p' || i, 'email', 'granted', 'consent' FROM generate_series(1, 20) i"
it_price ACME 10
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
	SELECT '$T1', p, 'ACME', '{\"operator\": \"crosses_above\", \"value\": 20}', 'REARM'
	FROM (SELECT 'p' || i p FROM generate_series(1, 20) i UNION ALL SELECT 'bad') x"
it_tenant "$T2" t2
it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id) SELECT '$T2', 'q' || i FROM generate_series(1, 5) i"
it_sql -c "INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis)
	SELECT '$T2', 'q' || i, 'email', 'granted', 'consent' FROM generate_series(1, 5) i"
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
	SELECT '$T2', 'q' || i, 'ACME', '{\"operator\": \"crosses_above\", \"value\": 20}', 'REARM'
	FROM generate_series(1, 5) i"
bad=$(it_sql -c "SELECT rule_id FROM alert_rules WHERE profile_id = 'bad'")
it_sql -c "ALTER TABLE agent_task ADD CONSTRAINT it_no_bad CHECK (profile_id <> 'bad')"

it_config stats
sed -i 's/batch_max_delay_ms: 0/batch_max_delay_ms: 200/' "$it_tmp/leo.yaml"
it_start
it_price ACME 21
it_wait "SELECT count(*) = 25 FROM delivery_log"
it_wait_log d "rule $bad firing 1 (tenant $T1): dropped, cannot be written" 10
it_ok "the bad firing alone is logged and dropped"
grep "dropped, cannot be written" "$it_tmp/daemon-d.log" | grep -q it_no_bad || it_fail "reason not logged"
it_ok "its reason is logged"
[ "$(it_metric leo_batches_failed_total)" -ge 1 ] || it_fail "leo_batches_failed_total not counted"
it_ok "leo_batches_failed_total counted"
it_price ACME 19
it_price ACME 22
it_wait "SELECT count(*) = 50 FROM delivery_log"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE tenant_id = '$T2'")" 10 "the other tenant's deliveries"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$bad'")" 0 "bad rule deliveries"
it_stop
