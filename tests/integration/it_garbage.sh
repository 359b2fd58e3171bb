#!/usr/bin/env bash
# Malformed notifications are counted and logged, never fatal: junk on the
# market channel, a market payload with a bad row, junk on leo_control.
# Price changes keep firing afterwards.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_price ACME 10
it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 20}' REARM >/dev/null

it_config stats
it_start
it_sql -c "NOTIFY leo_market, 'junk'"
it_sql -c "SELECT pg_notify('leo_market', E'M1 5\nACME\t1\tnot-a-number\t\t')" >/dev/null
it_sql -c "NOTIFY leo_control, '{\"k\":\"rule\"'"
it_price ACME 21
it_wait "SELECT count(*) = 1 FROM delivery_log"
it_eq "$(it_metric leo_notify_errors_total)" 3 "leo_notify_errors_total"
grep -q "notification on leo_market ignored" "$it_tmp/daemon-d.log" || it_fail "no log line"
it_ok "malformed notification logged"
it_price ACME 19
it_price ACME 22
it_wait "SELECT count(*) = 2 FROM delivery_log"
it_stop
