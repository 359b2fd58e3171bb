#!/usr/bin/env bash
# Ordering: a rule committed before a price change is evaluated against that
# change, even when both notifications arrive in one burst.  The daemon is
# paused (SIGSTOP) while the rule insert, an update of a second rule, a
# delete of a third and the price change commit, so it drains them together.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_price ACME 10
gone=$(it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 15}')
moved=$(it_rule "$T1" p1 OTHER '{"operator": "crosses_above", "value": 15}')

IT_RESYNC=3600 it_config	# no resync may catch a lost change up
it_start
kill -STOP "${it_pids[d]}"
new=$(it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 20}')
it_sql -c "UPDATE alert_rules SET symbol = 'ACME' WHERE rule_id = '$moved'"
it_sql -c "DELETE FROM alert_rules WHERE rule_id = '$gone'"
it_price ACME 21
kill -CONT "${it_pids[d]}"
it_wait "SELECT count(*) = 2 FROM delivery_log"
sleep 0.3
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$new'")" 1 \
	"edge rule inserted just before the crossing fired"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$moved'")" 1 \
	"rule moved to the symbol just before the crossing fired"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$gone'")" 0 \
	"rule deleted just before the crossing did not fire"

# One transaction moving a price up, down and up again: every statement is an
# observed change, although the first and the third notify the same change.
flip=$(it_rule "$T1" p1 FLIP '{"operator": "crosses", "value": 1.5}' REARM)
it_price FLIP 1
it_settle
it_sql <<'SQL' >/dev/null
BEGIN;
UPDATE market_snapshot SET price = 2 WHERE symbol = 'FLIP';
UPDATE market_snapshot SET price = 1 WHERE symbol = 'FLIP';
UPDATE market_snapshot SET price = 2 WHERE symbol = 'FLIP';
COMMIT;
SQL
it_wait "SELECT count(*) = 3 FROM delivery_log WHERE rule_id = '$flip'"
it_stop
