#!/usr/bin/env bash
# One firing per operator family (SPEC section 3), each rule on its own
# symbol.  Every rule is ONCE and the price path first passes values where
# it must NOT fire; the observed price recorded in the firing's trace then
# proves which change fired it.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted

# symbol | condition | start price | start change% | path (price:change ...) | fires at
cases=(
'GT|{"operator": ">", "value": 150.1}|100|0|150.1:0 150.10000001:0|150.10000001'
'GE|{"operator": ">=", "value": 150}|100|0|149.99999999:0 150:0|150'
'LT|{"operator": "<", "value": 50}|100|0|50:0 49.5:0|49.5'
'LE|{"operator": "<=", "value": 50}|100|0|50.01:0 50:0|50'
'EQ|{"operator": "==", "value": 123.45}|100|0|123.44:0 123.45:0|123.45'
'NE|{"operator": "!=", "value": 100}|100|0|100.01:0|100.01'
'XA|{"operator": "crosses_above", "value": 110}|100|0|109:0 110:0|110'
'XB|{"operator": "crosses_below", "value": 90}|100|0|91:0 90:0|90'
'XX|{"operator": "crosses", "value": 100}|95|0|99:0 104:0|104'
'BT|{"operator": "between", "low": 10, "high": 20}|100|0|20.5:0 20:0|20'
'OU|{"operator": "outside", "low": 90, "high": 110}|100|0|110:0 110.5:0|110.5'
'EN|{"operator": "enters", "low": 10, "high": 20}|100|0|25:0 15:0|15'
'EX|{"operator": "exits", "low": 90, "high": 110}|100|0|109:0 111:0|111'
'MU|{"operator": "moves_up_pct", "value": 5, "window_seconds": 60}|100|0|101:0 104:0 106.1:0|106.1'
'MD|{"operator": "moves_down_pct", "value": 5, "window_seconds": 60}|100|0|99:0 96:0 94:0|94'
'AL|{"all": [{"operator": ">", "value": 200}, {"field": "change_percent", "operator": ">", "value": 1}]}|100|0|201:0.5 202:1.5|202'
'AN|{"any": [{"operator": "<", "value": 10}, {"operator": ">", "value": 1000}]}|100|0|999:0 1001:0|1001'
'NO|{"not": {"operator": "<=", "value": 100}}|100|0|99:0 100.5:0|100.5'
'CP|{"field": "change_percent", "operator": "<", "value": -3}|100|0|100.1:-3 100.2:-3.5|100.2'
)

for c in "${cases[@]}"; do
	IFS='|' read -r sym cond p0 c0 path fire <<<"$c"
	it_price "$sym" "$p0" "$c0"
	it_rule "$T1" p1 "$sym" "$cond" >/dev/null
done

it_config
it_start
# nothing holds at load
sleep 0.5
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 0 "firings at load"

for c in "${cases[@]}"; do
	IFS='|' read -r sym cond p0 c0 path fire <<<"$c"
	for step in $path; do
		it_price "$sym" "${step%%:*}" "${step##*:}"
	done
done

n=${#cases[@]}
it_wait "SELECT count(*) = $n FROM delivery_log"
it_wait "SELECT count(*) = $n FROM agent_task"
for c in "${cases[@]}"; do
	IFS='|' read -r sym cond p0 c0 path fire <<<"$c"
	got=$(it_sql -c "SELECT string_agg(a.reasoning_trace->0->'observed'->>'price', ',')
		FROM agent_task a JOIN alert_rules r USING (rule_id) WHERE r.symbol = '$sym'")
	it_eq "$got" "$fire" "$sym ${cond} fired at"
done
it_eq "$(it_sql -c "SELECT count(*) FROM alert_rules WHERE status = 'TRIGGERED' AND trigger_count = 1")" \
	"$n" "ONCE rules TRIGGERED"
it_stop
