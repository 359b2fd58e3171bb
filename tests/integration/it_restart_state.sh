#!/usr/bin/env bash
# What a restart keeps of the engine's state (SPEC 4: restarts keep state),
# rebuilt from the database at load:
#   - the flood guard's recent firings (from the rule's agent_task rows): a
#     rule that fired flood_max_fires times pauses at its next firing, also
#     when the daemon restarted in between;
#   - a disarmed REARM rule stays disarmed: a level rule that fired and has
#     not gone past its hysteresis since does not fire again after a
#     restart.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_price F 10
it_price L 10
flood=$(it_rule "$T1" p1 F '{"operator": "crosses", "value": 20}' REARM)
level=$(it_rule "$T1" p1 L '{"operator": ">", "value": 20}' REARM)
it_sql -c "UPDATE alert_rules SET rearm_hysteresis = 2 WHERE rule_id = '$level'"
IT_FLOOD_MAX=3 it_config

it_start a
for p in 21 19 21; do it_price F $p; done
it_wait "SELECT trigger_count = 3 FROM alert_rules WHERE rule_id = '$flood'" 10
it_price L 21
it_wait "SELECT trigger_count = 1 FROM alert_rules WHERE rule_id = '$level'" 10
it_price L 19		# below 20, not below 18: still disarmed
it_settle 1
it_eq "$(it_sql -c "SELECT trigger_count FROM alert_rules WHERE rule_id = '$level'")" 1 \
	"the level rule fired once"
it_stop a

it_start b
it_price F 19		# the 4th firing within the window: the guard pauses the rule
it_wait "SELECT status = 'PAUSED' FROM alert_rules WHERE rule_id = '$flood'" 10
it_ok "the flood guard paused the rule after the restart"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$flood'")" 3 \
	"three deliveries, none for the pausing firing"
it_price L 21		# disarmed since its firing: nothing
it_settle 1
it_eq "$(it_sql -c "SELECT trigger_count FROM alert_rules WHERE rule_id = '$level'")" 1 \
	"the disarmed REARM rule stayed disarmed"
it_price L 17		# past the hysteresis: re-armed
it_price L 21
it_wait "SELECT trigger_count = 2 FROM alert_rules WHERE rule_id = '$level'" 10
it_ok "it re-arms past its hysteresis and fires again"
it_stop b
