#!/usr/bin/env bash
# The outcomes of SPEC 7 against a real HTTPS receiver: 429 with
# Retry-After is retried no sooner than it asks and, at max_attempts, ends
# failed (retries_exhausted) with one attempt row per try; 500 is retried
# too; 400 fails at once (rejected); a receiver that hangs is a timeout,
# retried.  And a channel's rate_per_second holds across a burst.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver_lib.sh"
it_newdb
it_tenant "$T1" t1
it_price ACME 10
# one profile per answer, each on a channel of its own (a channel has one
# URL), and 20 sms profiles for the rate limit
declare -A chan=([p429]=web_push [p500]=whatsapp [p400]=zalo_oa [phang]=email)
for p in p429 p500 p400 phang; do
	c=${chan[$p]}
	it_profile "$T1" "$p"
	it_sql -c "UPDATE cdp_profiles SET identities = '[\"webpush:$p\", \"phone:+841\", \"zalo:z1\"]',
		primary_email = '$p@example.com' WHERE profile_id = '$p'"
	it_consent "$T1" "$p" "$c" granted
	it_rule "$T1" "$p" ACME '{"operator": "crosses_above", "value": 20}' ONCE "$c" >/dev/null
done
it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id, identities)
	SELECT '$T1', 'r' || g, jsonb_build_array('phone:+84' || g) FROM generate_series(1, 20) g"
it_sql -c "INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis, source)
	SELECT '$T1', 'r' || g, 'sms', 'granted', 'consent', 'test' FROM generate_series(1, 20) g"
it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode, channel)
	SELECT '$T1', 'r' || g, 'ACME', '{\"operator\": \"crosses_above\", \"value\": 20}', 'ONCE', 'sms'
	FROM generate_series(1, 20) g"
it_config
it_start
it_price ACME 21
it_wait "SELECT count(*) = 24 FROM delivery_log"
it_stop

dl_receiver
http_channel() {	# http_channel NAME PATH
	cat <<YAML
    $1:
      kind: http
      url: "https://127.0.0.1:$dl_rport/$2"
      ca_file: "$it_tmp/ca.pem"
      timeout_ms: 1000
YAML
}
{ cat <<YAML
  poll_interval_s: 1
  retry_initial_ms: 300
  retry_max_ms: 600
  max_attempts: 3
  channels:
    sms:
      kind: file
      path: "$it_tmp/outbox.jsonl"
      rate_per_second: 5
YAML
  http_channel web_push 429
  http_channel whatsapp 500
  http_channel zalo_oa 400
  http_channel email hang
} >"$it_tmp/deliver-section.yaml"
dl_config s <"$it_tmp/deliver-section.yaml"
dl_start s
it_wait "SELECT count(*) = 0 FROM delivery_log WHERE delivery_status = 'queued'" 40
id() { it_sql -c "SELECT delivery_id FROM delivery_log WHERE profile_id = '$1'"; }

it_eq "$(dl_status "$(id p400)")" "failed rejected 1" "400: failed at once"
it_eq "$(it_sql -c "SELECT outcome || ' ' || status_code FROM delivery_attempt WHERE delivery_id = $(id p400)")" \
	"failed 400" "its attempt row"
for p in p429 p500 phang; do
	it_eq "$(dl_status "$(id $p)")" "failed retries_exhausted 3" "$p: retried, then failed at max_attempts"
	it_eq "$(it_sql -c "SELECT string_agg(outcome, ',' ORDER BY attempt) FROM delivery_attempt
		WHERE delivery_id = $(id $p)")" "retry,retry,failed" "$p: one row per attempt"
done
it_eq "$(it_sql -c "SELECT string_agg(status_code::text, ',' ORDER BY attempt) FROM delivery_attempt
	WHERE delivery_id = $(id p429)")" "429,429,429" "429: the status of each"
# Retry-After: 2 is longer than the backoff (at most 600 ms): it wins
it_eq "$(it_sql -c "SELECT bool_and(gap >= 1.9) FROM (SELECT extract(epoch FROM started_at -
	lag(ended_at) OVER (ORDER BY attempt)) AS gap FROM delivery_attempt
	WHERE delivery_id = $(id p429)) g WHERE gap IS NOT NULL")" t "429: no sooner than Retry-After"
it_eq "$(it_sql -c "SELECT bool_and(gap >= 0.14) FROM (SELECT extract(epoch FROM started_at -
	lag(ended_at) OVER (ORDER BY attempt)) AS gap FROM delivery_attempt
	WHERE delivery_id = $(id p500)) g WHERE gap IS NOT NULL")" t "500: backoff between attempts"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_attempt WHERE delivery_id = $(id phang)
	AND error ILIKE '%timed out%'")" 3 "hang: each attempt a timeout"
it_eq "$(grep -c '"path": "/429"' "$it_tmp/requests.jsonl")" 3 "the receiver saw three tries"

# 20 sms at 5 per second with a bucket of one second: 20 - 5 = 15 wait
# for tokens, 3 s at least from the first to the last
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE channel = 'sms' AND delivery_status = 'sent'")" \
	20 "all 20 sms sent"
it_eq "$(it_sql -c "SELECT extract(epoch FROM max(a.started_at) - min(a.started_at)) >= 2.8
	FROM delivery_attempt a JOIN delivery_log d USING (tenant_id, delivery_id) WHERE d.channel = 'sms'")" \
	t "rate_per_second holds"
it_eq "$(dl_metric s 'leo_deliver_retries_total{channel="web_push"}')" 2 "metric retries"
it_eq "$(dl_metric s 'leo_deliver_failed_total{channel="web_push",reason="retries_exhausted"}')" 1 \
	"metric retries_exhausted"
it_stop s
