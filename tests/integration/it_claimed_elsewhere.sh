#!/usr/bin/env bash
# Another daemon's claims reach this one only as failed claims: a rule's
# trigger_count moved on in the database without a notification (as the
# daemons' own writes do).  The firing whose number was taken is dropped
# as already claimed; the daemon then takes the row's counter, at a fence
# in the notification stream, and its next firing is numbered after it.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p
it_consent "$T1" p email granted
it_price ACME 10
r=$(it_rule "$T1" p ACME '{"operator": "crosses", "value": 20}' REARM)

it_config stats
it_start
it_price ACME 21
it_wait "SELECT count(*) = 1 FROM delivery_log"
# "another daemon" fires three times: its write sends no notification
it_sql -c "BEGIN" -c "SET LOCAL leo.writer = on" \
	-c "UPDATE alert_rules SET trigger_count = 4, last_triggered_at = now() WHERE rule_id = '$r'" \
	-c "COMMIT" >/dev/null
it_price ACME 19
it_wait_log d "rule $r: trigger_count 4 taken from the database" 20
it_eq "$(it_metric 'leo_deliveries_suppressed_total{reason="already_claimed"}')" 1 \
	"the firing numbered 2 was dropped as already claimed"
it_price ACME 22
it_wait "SELECT count(*) = 2 FROM delivery_log"
it_eq "$(it_sql -c "SELECT string_agg(idempotency_key, ' ' ORDER BY delivery_id) FROM delivery_log")" \
	"$r:1 $r:5" "numbered after the other daemon's firings"
it_eq "$(it_sql -c "SELECT trigger_count FROM alert_rules WHERE rule_id = '$r'")" 5 "trigger_count"
it_stop
