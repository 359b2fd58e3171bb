#!/usr/bin/env bash
# Trigger policies: ONCE fires once; REARM level re-arms only past the
# hysteresis; REARM edge fires on every crossing; cooldown holds a firing
# back; the flood guard pauses a rule and records why; an expired rule is
# set EXPIRED and never fires.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
for s in ONCE LVL EDGE COOL FLOOD EXP; do it_price "$s" 10; done

once=$(it_rule "$T1" p1 ONCE '{"operator": ">", "value": 100}')
lvl=$(it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic,
	trigger_mode, rearm_hysteresis) VALUES ('$T1', 'p1', 'LVL',
	'{\"operator\": \">\", \"value\": 100}', 'REARM', 1) RETURNING rule_id")
edge=$(it_rule "$T1" p1 EDGE '{"operator": "crosses_above", "value": 50}' REARM)
cool=$(it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic,
	trigger_mode, cooldown_seconds) VALUES ('$T1', 'p1', 'COOL',
	'{\"operator\": \"crosses_above\", \"value\": 70}', 'REARM', 3600) RETURNING rule_id")
flood=$(it_rule "$T1" p1 FLOOD '{"operator": "crosses", "value": 10.5}' REARM)
expd=$(it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic,
	expires_at) VALUES ('$T1', 'p1', 'EXP', '{\"operator\": \">\", \"value\": 1}',
	now() - interval '1 day') RETURNING rule_id")

IT_FLOOD_MAX=3 it_config
it_start

# already expired at load: set EXPIRED, no firing though its level holds
it_wait "SELECT status = 'EXPIRED' FROM alert_rules WHERE rule_id = '$expd'"
it_ok "rule inserted already expired is EXPIRED"

for p in 101 102 103; do it_price ONCE $p; done
for p in 101 102 99.5 101 98.9 101; do it_price LVL $p; done
for p in 49 51 52 49 51; do it_price EDGE $p; done
for p in 69 71 69 71; do it_price COOL $p; done
for p in 11 10 11 10 11 10; do it_price FLOOD $p; done
it_price EXP 50

it_wait "SELECT count(*) = 2 FROM agent_task WHERE rule_id = '$lvl'"
it_wait "SELECT count(*) = 2 FROM agent_task WHERE rule_id = '$edge'"
it_wait "SELECT count(*) = 4 FROM agent_task WHERE rule_id = '$flood'"
it_wait "SELECT count(*) = 1 FROM agent_task WHERE rule_id = '$once'"
it_wait "SELECT count(*) = 1 FROM agent_task WHERE rule_id = '$cool'"
sleep 0.5	# anything extra would have arrived by now

q() { it_sql -c "SELECT $1 FROM alert_rules WHERE rule_id = '$2'"; }
obs() {
	it_sql -c "SELECT string_agg(reasoning_trace->0->'observed'->>'price', ','
		ORDER BY created_at, task_id) FROM agent_task WHERE rule_id = '$1'"
}
it_eq "$(q "status || ' ' || trigger_count" "$once")" "TRIGGERED 1" "ONCE after 3 holding ticks"
it_eq "$(obs "$once")" 101 "ONCE fired at"
it_eq "$(q "status || ' ' || trigger_count" "$lvl")" "ACTIVE 2" "REARM level"
it_eq "$(obs "$lvl")" "101,101" "REARM level fired at (99.5 is inside the hysteresis)"
it_eq "$(q "status || ' ' || trigger_count" "$edge")" "ACTIVE 2" "REARM edge"
it_eq "$(q "trigger_count" "$cool")" 1 "REARM within cooldown"
it_eq "$(q "status || ' ' || trigger_count" "$flood")" "PAUSED 4" "flood guard (max 3)"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$flood'")" 3 \
	"flood guard deliveries"
it_eq "$(it_sql -c "SELECT reasoning_trace->2->>'action' FROM agent_task
	WHERE task_id = '$flood:4'")" pause "4th firing's decision"
it_eq "$(q trigger_count "$expd")" 0 "expired rule firings"
it_eq "$(it_sql -c "SELECT count(DISTINCT idempotency_key) = count(*) FROM delivery_log")" t \
	"idempotency keys unique"
it_stop
