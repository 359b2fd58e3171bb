#!/usr/bin/env bash
# What survives a sender's death, and two senders on one database:
# - kill -9 while the provider is answering: the delivery stays claimed
#   until its lease runs out, then a second sender sends it again with the
#   same Idempotency-Key, and it is never sent a third time;
# - two senders, 60 deliveries: each sent exactly once, both senders taking
#   part (a sender whose claim came back empty sleeps until its next wake-up:
#   the poll, every second here, brings the second one in whatever the
#   order of the notifications).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver_lib.sh"
it_newdb
it_tenant "$T1" t1
it_price ACME 10
it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id, identities)
	SELECT '$T1', 'p' || g, jsonb_build_array('webpush:sub' || g) FROM generate_series(0, 60) g"
it_sql -c "INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis, source)
	SELECT '$T1', 'p' || g, 'web_push', 'granted', 'consent', 'test' FROM generate_series(0, 60) g"
it_rule "$T1" p0 ACME '{"operator": "crosses_above", "value": 20}' ONCE web_push >/dev/null
it_config
it_start
it_price ACME 21
it_wait "SELECT count(*) = 1 FROM delivery_log"
dl_receiver
section() {	# section PATH
	cat <<YAML
  poll_interval_s: 1
  claim_lease_s: 5
  claim_batch: 4
  channels:
    web_push:
      kind: http
      url: "https://127.0.0.1:$dl_rport/$1"
      ca_file: "$it_tmp/ca.pem"
      timeout_ms: 2500
      concurrency: 4
YAML
}

# kill -9 mid-send
section 'slow?ms=1500' >"$it_tmp/s.yaml"
dl_config a <"$it_tmp/s.yaml"
dl_config b <"$it_tmp/s.yaml"
dl_start a
for _ in $(seq 100); do
	[ -s "$it_tmp/requests.jsonl" ] && break
	sleep 0.1
done
[ -s "$it_tmp/requests.jsonl" ] || it_fail "the first request did not arrive"
kill -KILL "${it_pids[a]}"
it_reap a KILL
it_eq "$(it_sql -c "SELECT delivery_status || ' ' || (w.claimed_until > now())
	FROM delivery_log d JOIN delivery_work w USING (tenant_id, delivery_id)")" "queued true" \
	"after kill -9: still queued, still claimed"
dl_start b
it_wait "SELECT delivery_status = 'sent' FROM delivery_log" 20
sleep 3	# a third request would come now, if at all
keys=$(python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["headers"].get("Idempotency-Key"))' "$it_tmp/requests.jsonl")
it_eq "$(echo "$keys" | wc -l)" 2 "sent twice in all: the lost attempt and the one after the lease"
it_eq "$(echo "$keys" | sort -u)" "$(it_sql -c "SELECT idempotency_key FROM delivery_log")" \
	"both with the delivery's Idempotency-Key"
it_eq "$(it_sql -c "SELECT count(*) || ' ' || max(outcome) FROM delivery_attempt")" "1 sent" \
	"one attempt recorded, the one that was answered"
it_stop b

# two senders
: >"$it_tmp/requests.jsonl"
section 'slow?ms=300' >"$it_tmp/s.yaml"
dl_config a <"$it_tmp/s.yaml"
dl_config b <"$it_tmp/s.yaml"
dl_start a
dl_start b
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode, channel)
	SELECT '$T1', 'p' || g, 'ACME', '{\"operator\": \"crosses_above\", \"value\": 30}', 'ONCE', 'web_push'
	FROM generate_series(1, 60) g"
it_settle 1
it_price ACME 31
it_wait "SELECT count(*) = 61 FROM delivery_log" 20
it_wait "SELECT count(*) = 0 FROM delivery_log WHERE delivery_status = 'queued'" 30
it_eq "$(python3 -c 'import json,sys,collections
c = collections.Counter(json.loads(l)["headers"].get("Idempotency-Key") for l in open(sys.argv[1]))
print(len(c), max(c.values()))' "$it_tmp/requests.jsonl")" "60 1" "60 requests, no key twice"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_attempt")" 61 "one attempt each (and the first)"
na=$(dl_metric a 'leo_deliver_sent_total{channel="web_push"}')
nb=$(dl_metric b 'leo_deliver_sent_total{channel="web_push"}')
it_eq "$((na + nb))" 60 "the senders' counts add up"
[ "$na" -gt 0 ] && [ "$nb" -gt 0 ] || it_fail "one sender did all the work ($na, $nb)"
it_ok "both senders took part ($na, $nb)"
it_stop a
it_stop b
