#!/usr/bin/env bash
# Forged notifications.  NOTIFY needs no privilege: a role that may only
# connect sends well-formed market and control payloads of its own making —
# a price crossing a rule's threshold, another tenant's suspension, the
# deletion of that tenant's rule — unsigned, signed with a made-up key, and
# replayed with a real signature over a changed body.  The daemon refuses
# each (leo_notify_errors_total, a log line), fires nothing, drops nothing:
# the real crossing afterwards fires exactly once.  Then the key is rotated
# and the daemon reloaded: it reads the new key and goes on.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_tenant "$T2" t2
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_price ACME 10
rule=$(it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 20}' REARM)
it_sql -c "DROP ROLE IF EXISTS it_forger" -c "CREATE ROLE it_forger LOGIN"

IT_FLOOD_MAX=100000 it_config stats
it_start
it_eq "$(it_metric leo_rules_active)" 1 "rule loaded"

# a real signature of a real price change, to tamper with
sig=$(it_sql -c "SELECT left(encode(hmac(convert_to('x', 'UTF8'), key, 'sha256'), 'hex'), 64) FROM leo_notify_key")
bodies=(
	"'M1 ' || pg_current_xact_id() || E' 1\\nACME\\t10\\t25\\t\\t'"
	"'{\"k\":\"tenant\",\"x\":\"' || pg_current_xact_id() || '\",\"op\":\"U\",\"tenant\":\"$T1\",\"status\":\"suspended\"}'"
	"'{\"k\":\"rule\",\"x\":\"' || pg_current_xact_id() || '\",\"op\":\"D\",\"tenant\":\"$T2\",\"rule\":\"$rule\",\"symbol\":\"ACME\",\"old_symbol\":\"ACME\"}'"
)
chans=(leo_market leo_control leo_control)
forged=0
for i in 0 1 2; do
	b=${bodies[$i]} c=${chans[$i]}
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$it_db" -U it_forger >/dev/null <<SQL
SELECT pg_notify('$c', $b);
SELECT pg_notify('$c', repeat('ab', 32) || ' ' || $b);
SELECT pg_notify('$c', '$sig ' || $b);
SQL
	forged=$((forged + 3))
done
it_settle 1
it_eq "$(it_metric leo_notify_errors_total)" "$forged" "every forged notification refused"
it_eq "$(grep -c 'ignored: not signed' "$it_tmp/daemon-d.log")" 3 "unsigned ones logged"
it_eq "$(grep -c 'ignored: bad signature' "$it_tmp/daemon-d.log")" 6 "badly signed ones logged"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 0 "a forged price change fired nothing"
it_eq "$(it_metric leo_rules_active)" 1 "neither the forged suspension nor the forged delete dropped the rule"

it_price ACME 21
it_wait "SELECT count(*) = 1 FROM delivery_log"
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$rule'")" 1 "the real crossing fired once"
it_eq "$(it_sql -c "SELECT reasoning_trace->0->'observed'->>'price' FROM agent_task")" 21 \
	"at the real price"

# a rotated key, then a reload: the daemon reads the new key
it_sql -c "UPDATE leo_notify_key SET key = gen_random_bytes(32)"
kill -HUP "${it_pids[d]}"
it_wait_log d "notification key changed" 10
it_price ACME 19
it_price ACME 22
it_wait "SELECT count(*) = 2 FROM delivery_log"
it_eq "$(it_metric leo_notify_errors_total)" "$forged" "after the rotation nothing refused"
it_stop
it_sql -c "DROP ROLE it_forger"
