#!/usr/bin/env bash
# SIGHUP and the periodic resync.  A rule inserted without a notification
# (leo.writer = on, as the daemon's own writes do) is only seen by a
# resync: SIGHUP resyncs at once; a broken config on SIGHUP is refused and
# the old one keeps running; a good one is applied (flood guard, resync
# interval), and the resync's expiry sweep sets a rule EXPIRED.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_price ACME 10
it_price EDGE 10
it_price FOLD 1
silent() {	# insert a rule without notifying the daemon
	it_sql -c "BEGIN" -c "SET LOCAL leo.writer = 'on'" \
		-c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic ${2:-})
			VALUES ('$T1', 'p1', 'ACME', '$1' ${3:-}) RETURNING rule_id" -c "COMMIT"
}

IT_RESYNC=3600 it_config
it_start
quiet=$(silent '{"operator": ">", "value": 5}')
sleep 1
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 0 "rule without notification not seen yet"
kill -HUP "${it_pids[d]}"
it_wait "SELECT count(*) = 1 FROM delivery_log WHERE rule_id = '$quiet'" 10
it_ok "SIGHUP resynced the rules"

cp "$it_tmp/leo.yaml" "$it_tmp/good.yaml"
printf 'engine:\n  flood_max_fires: many\n' >"$it_tmp/leo.yaml"
kill -HUP "${it_pids[d]}"
it_wait_log d "keeping the running configuration" 10
it_ok "broken config refused"

# good config: flood guard 1, resync every second
sed -e 's/flood_max_fires: 15/flood_max_fires: 1/' -e 's/resync_interval_s: 3600/resync_interval_s: 1/' \
	"$it_tmp/good.yaml" >"$it_tmp/leo.yaml"
kill -HUP "${it_pids[d]}"
it_wait_log d "SIGHUP: reloading" 10 1
edge=$(it_rule "$T1" p1 EDGE '{"operator": "crosses", "value": 15}' REARM)
sleep 0.3
for p in 20 10; do it_price EDGE $p; done
it_wait "SELECT status = 'PAUSED' FROM alert_rules WHERE rule_id = '$edge'" 10
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$edge'")" 1 \
	"reloaded flood_max_fires = 1: second firing paused"

soon=$(silent '{"operator": "<", "value": 5}' ", expires_at" ", now() + interval '1 second'")
it_wait "SELECT status = 'EXPIRED' FROM alert_rules WHERE rule_id = '$soon'" 10
it_ok "rule expired by the resync sweep (interval reloaded to 1 s)"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task WHERE rule_id = '$soon'")" 0 "expired rule never fired"

# Back to a resync an hour apart, and wait for the reload's own resync: a
# periodic resync that read the next transaction's prices before its
# notifications would fold its steps into one change (its job, but not
# what this step checks).
n=$(grep -c "SIGHUP: reloading" "$it_tmp/daemon-d.log")
sed -i 's/resync_interval_s: 1$/resync_interval_s: 3600/' "$it_tmp/leo.yaml"
grep -q 'resync_interval_s: 3600$' "$it_tmp/leo.yaml" || it_fail "config not changed"
kill -HUP "${it_pids[d]}"
it_wait_log d "SIGHUP: reloading" 10 "$n"
t=100
until awk '/SIGHUP: reloading/ { r = 0 } /resynced/ { r = 1 } END { exit !r }' "$it_tmp/daemon-d.log"; do
	t=$((t - 1))
	[ $t -gt 0 ] || it_fail "no resync after the reload"
	sleep 0.1
done

# 1 -> 2 -> 1 -> 2 in one transaction: PostgreSQL folds equal notifications
# of a transaction, but each market notification carries its statement's
# number, so all three changes arrive and both upward crossings fire (with
# flood_max_fires 1, the second is the flood pause; its agent_task records
# the change all the same).
fold1=$(it_rule "$T1" p1 FOLD '{"operator": "crosses_above", "value": 1.5}' REARM)
sleep 0.3
it_sql -c "BEGIN" -c "UPDATE market_snapshot SET price = 2 WHERE symbol = 'FOLD'" \
	-c "UPDATE market_snapshot SET price = 1 WHERE symbol = 'FOLD'" \
	-c "UPDATE market_snapshot SET price = 2 WHERE symbol = 'FOLD'" -c "COMMIT"
it_wait "SELECT count(*) = 2 FROM agent_task WHERE rule_id = '$fold1'" 10
it_eq "$(it_sql -c "SELECT string_agg((reasoning_trace->0->'previous'->>'price') || '->' ||
	(reasoning_trace->0->'observed'->>'price'), ' ' ORDER BY task_id) FROM agent_task
	WHERE rule_id = '$fold1'")" "1->2 1->2" "every change of one transaction observed"
it_stop
