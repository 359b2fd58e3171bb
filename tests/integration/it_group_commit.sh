#!/usr/bin/env bash
# Group commit: a batch is written as soon as nothing more is coming and
# its writer has not written for writer.batch_max_delay_ms, not when the
# delay runs out after the firing.  With the delay set to 10 s, the 200
# firings of one tick land in one batch per writer connection (pool_size 2),
# not one each, and, once the writers have rested, a lone firing is written
# well before 10 s.  The bounds are generous: this checks the policy, not
# the speed.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id) SELECT '$T1', 'p' || i FROM generate_series(1, 200) i"
it_sql -c "INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis)
	SELECT '$T1', 'p' || i, 'email', 'granted', 'consent' FROM generate_series(1, 200) i"
it_price ACME 10
it_price LONE 10
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
	SELECT '$T1', 'p' || i, 'ACME', '{\"operator\": \"crosses_above\", \"value\": 20}', 'ONCE'
	FROM generate_series(1, 200) i"
lone=$(it_rule "$T1" p1 LONE '{"operator": "crosses_above", "value": 20}')

it_config stats
sed -i 's/batch_max_delay_ms: 0/batch_max_delay_ms: 10000/' "$it_tmp/leo.yaml"
it_start

start=$(date +%s%N)
it_price ACME 21
it_wait "SELECT count(*) = 200 FROM delivery_log" 5
ms=$(( ($(date +%s%N) - start) / 1000000 ))
it_ok "200 firings of one tick written in $ms ms"
batches=$(it_metric leo_batch_rows_count)
[ "$batches" -ge 1 ] && [ "$batches" -le 2 ] ||
	it_fail "the 200 firings of one tick took $batches batches, expected one per writer (2)"
it_ok "the 200 firings of one tick took $batches batches"
# The four stages of each firing add up to its tick-to-commit time.
n=$(it_metric leo_tick_to_commit_seconds_count)
total=$(it_metric leo_tick_to_commit_seconds_sum)
parts=0
for st in evaluate writer_queue batch commit; do
	it_eq "$(it_metric "leo_firing_stage_seconds_count{stage=\"$st\"}")" "$n" \
		"leo_firing_stage_seconds{stage=$st} counts every firing"
	parts=$(awk -v a="$parts" -v b="$(it_metric "leo_firing_stage_seconds_sum{stage=\"$st\"}")" \
		'BEGIN { printf "%.9f", a + b }')
done
awk -v a="$parts" -v b="$total" 'BEGIN { exit !(a > 0 && (a - b < 1e-6 && b - a < 1e-6)) }' ||
	it_fail "the stages add up to $parts s, tick to commit is $total s"
it_ok "the stages add up to the tick-to-commit time ($total s)"
sleep 10.5	# both writers rested: their last write is 10 s old
start=$(date +%s%N)
it_price LONE 21
it_wait "SELECT count(*) = 1 FROM delivery_log WHERE rule_id = '$lone'" 5
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ] || it_fail "a lone firing took $ms ms with batch_max_delay_ms 10000"
it_ok "a lone firing is written without waiting for batch_max_delay_ms ($ms ms)"
it_eq "$(( $(it_metric leo_batch_rows_count) - batches ))" 1 "one more batch for the lone firing"

it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 201 "agent tasks, once each"
it_stop
