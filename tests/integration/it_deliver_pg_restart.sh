#!/usr/bin/env bash
# PostgreSQL stopped under the sender (RUN_SERIAL: it stops the shared
# cluster) while a request is in flight: the provider's answer arrives
# while the database is away, so its record waits and is written after the
# restart (one attempt, sent once); the LISTEN connection comes back too,
# so a delivery made afterwards is sent at once with the poll backstop an
# hour away.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver_lib.sh"
: "${LEO_PGDIR:?LEO_PGDIR must name the throwaway cluster directory}"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_sql -c "UPDATE cdp_profiles SET identities = '[\"webpush:s1\"]'"
it_consent "$T1" p1 web_push granted
it_price ACME 10
it_rule "$T1" p1 ACME '{"operator": "crosses_above", "value": 20}' REARM web_push >/dev/null
it_config
it_start
it_price ACME 21
it_wait "SELECT count(*) = 1 FROM delivery_log"
it_stop

dl_receiver
dl_config s <<YAML
  poll_interval_s: 3600
  claim_lease_s: 30
  channels:
    web_push:
      kind: http
      url: "https://127.0.0.1:$dl_rport/slow?ms=2000"
      ca_file: "$it_tmp/ca.pem"
      timeout_ms: 10000
YAML
dl_start s
for _ in $(seq 100); do
	[ -s "$it_tmp/requests.jsonl" ] && break
	sleep 0.1
done
[ -s "$it_tmp/requests.jsonl" ] || it_fail "the request did not arrive"
"$it_top/scripts/pgtmp.sh" stop "$LEO_PGDIR" >/dev/null
it_wait_log s "records wait for the database" 15
"$it_top/scripts/pgtmp.sh" start "$LEO_PGDIR" >/dev/null
it_wait "SELECT delivery_status = 'sent' FROM delivery_log" 30
it_eq "$(it_sql -c "SELECT count(*) || ' ' || max(outcome) FROM delivery_attempt")" "1 sent" \
	"the answer recorded once, after the reconnect"
it_eq "$(wc -l <"$it_tmp/requests.jsonl")" 1 "sent once"

# LISTEN again: a new delivery goes without waiting for the poll
it_start
it_price ACME 10
it_price ACME 21
it_wait "SELECT count(*) = 2 FROM delivery_log"
it_wait "SELECT count(*) = 0 FROM delivery_log WHERE delivery_status = 'queued'" 15
it_ok "a delivery made after the restart was picked up by notification"
[ "$(dl_metric s leo_db_reconnects_total)" -ge 1 ] || it_fail "leo_db_reconnects_total not counted"
it_ok "reconnect counted"
it_stop
it_stop s
