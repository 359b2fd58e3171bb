#!/usr/bin/env bash
# leo-deliver end to end, on deliveries leo-alertd made: a file channel
# (sms) and an https webhook (web_push, signed, a header secret from a
# file); consent withdrawn between queue and send, no address, a rule's
# template, a template that fails, an engine other than jinja2, a
# suspended tenant (its delivery waits), receipts (each answer), the
# metrics, a clean stop.  Every status move is checked in the rows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver_lib.sh"
it_newdb
it_tenant "$T1" "An Bình"
it_tenant "$T2" t2
for p in sms push noaddr revoke tmpl bad engine; do it_profile "$T1" "p-$p"; done
it_profile "$T2" p-susp
it_sql -c "UPDATE cdp_profiles SET identities = CASE profile_id
	WHEN 'p-push' THEN '[\"webpush:sub-1\"]'::jsonb WHEN 'p-noaddr' THEN '[\"email:x@y.z\"]'
	ELSE jsonb_build_array('phone:+8490' || md5(profile_id)::text) END"
for p in sms noaddr revoke tmpl bad engine; do it_consent "$T1" "p-$p" sms granted; done
it_consent "$T1" p-push web_push granted
it_consent "$T2" p-susp sms granted
it_price ACME 10
declare -A rule
for p in sms noaddr revoke tmpl bad engine; do
	rule[$p]=$(it_rule "$T1" "p-$p" ACME '{"operator": "crosses_above", "value": 20}' ONCE sms)
done
rule[push]=$(it_rule "$T1" p-push ACME '{"operator": "crosses_above", "value": 20}' ONCE web_push)
it_rule "$T2" p-susp ACME '{"operator": "crosses_above", "value": 20}' ONCE sms >/dev/null
tmpl() {	# tmpl RULE ENGINE BODY
	it_sql -c "WITH t AS (INSERT INTO message_templates (tenant_id, channel, body_template,
		template_engine) VALUES ('$T1', 'sms', \$\$$3\$\$, '$2') RETURNING template_id)
		UPDATE alert_rules SET template_id = (SELECT template_id FROM t) WHERE rule_id = '$1'"
}
tmpl "${rule[tmpl]}" jinja2 '{{ rule.symbol }} {{ tick.price }} for {{ profile.profile_id | upper }}{% for s in profile.segments %}!{% endfor %}'
tmpl "${rule[bad]}" jinja2 'line one
{{ tick.prise }}'
tmpl "${rule[engine]}" liquid '{{ x }}'

# the deliveries, made while no sender runs
it_config stats
it_start
it_price ACME 21
it_wait "SELECT count(*) = 8 FROM delivery_log"
it_stop
it_sql -c "UPDATE consent_management SET status = 'revoked', revoked_at = now()
	WHERE profile_id = 'p-revoke'"
it_sql -c "UPDATE tenant SET status = 'suspended' WHERE tenant_id = '$T2'"
id() { it_sql -c "SELECT delivery_id FROM delivery_log WHERE profile_id = 'p-$1'"; }
key() { it_sql -c "SELECT idempotency_key FROM delivery_log WHERE profile_id = 'p-$1'"; }

dl_receiver
echo "Bearer s3cret-token" >"$it_tmp/auth"
echo "webhook-signing-secret" >"$it_tmp/sign"
echo "receipts-secret" >"$it_tmp/receipts"
dl_config s <<YAML
  poll_interval_s: 1
  receipts_secret_file: "$it_tmp/receipts"
  channels:
    sms:
      kind: file
      path: "$it_tmp/outbox.jsonl"
    web_push:
      kind: http
      url: "https://127.0.0.1:$dl_rport/200"
      ca_file: "$it_tmp/ca.pem"
      header_files: { Authorization: "$it_tmp/auth" }
      signing_secret_file: "$it_tmp/sign"
YAML
dl_start s
it_wait "SELECT count(*) = 0 FROM delivery_log WHERE tenant_id = '$T1' AND delivery_status = 'queued'"

it_eq "$(dl_status "$(id sms)")" "sent - 1" "file channel: sent, one attempt"
it_eq "$(it_sql -c "SELECT outcome || ' ' || attempt FROM delivery_attempt WHERE delivery_id = $(id sms)")" \
	"sent 1" "its attempt row"
line=$(grep "\"delivery_id\":$(id sms)," "$it_tmp/outbox.jsonl")
it_eq "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["to"], d["idempotency_key"], d["subject"], d["channel"])' "$line")" \
	"+8490$(it_sql -c "SELECT md5('p-sms')") $(key sms) None sms" "outbox line: address, key, no subject"
it_eq "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["body"])' "$line")" \
	"ACME 21: price crosses above 20" "the built-in short text"
tline=$(grep "\"delivery_id\":$(id tmpl)," "$it_tmp/outbox.jsonl")
it_eq "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["body"])' "$tline")" \
	"ACME 21 for P-TMPL" "the rule's template"

it_eq "$(dl_status "$(id push)")" "sent - 1" "webhook: sent, one attempt"
python3 - "$it_tmp/requests.jsonl" "$(key push)" "$(id push)" <<'PY' || it_fail "the webhook request"
import hashlib, hmac, json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 1, reqs
r = reqs[0]
h = {k.lower(): v for k, v in r["headers"].items()}
assert r["method"] == "POST" and r["path"] == "/200", r
assert h["idempotency-key"] == sys.argv[2], h
assert h["authorization"] == "Bearer s3cret-token", h
assert h["content-type"].startswith("application/json"), h
t, v1 = (p.split("=", 1)[1] for p in h["x-leo-signature"].split(","))
want = hmac.new(b"webhook-signing-secret", (t + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
assert hmac.compare_digest(v1, want), (v1, want)
doc = json.loads(r["body"])
assert doc["delivery_id"] == int(sys.argv[3]) and doc["to"] == "sub-1", doc
PY
it_ok "webhook: key, header secret, signature, document"
it_eq "$(it_sql -c "SELECT provider_response->>'status' FROM delivery_log WHERE delivery_id = $(id push)")" \
	200 "provider_response holds the answer"

it_eq "$(dl_status "$(id noaddr)")" "failed no_address 0" "no address: failed, nothing sent"
it_eq "$(dl_status "$(id revoke)")" "failed consent_withdrawn 0" "consent withdrawn: failed, nothing sent"
it_eq "$(grep -c "\"delivery_id\":$(id revoke)," "$it_tmp/outbox.jsonl" || true)" 0 "nothing written for it"
it_eq "$(dl_status "$(id bad)")" "failed template 0" "a template that fails"
it_eq "$(it_sql -c "SELECT provider_response->>'error' FROM delivery_log WHERE delivery_id = $(id bad)" |
	grep -c "^body 2:.*prise")" 1 "its error names line and cause"
it_eq "$(dl_status "$(id engine)")" "failed template_engine_unsupported 0" "another engine"

# a suspended tenant's delivery waits, and goes once the tenant is active
sleep 2.5
it_eq "$(dl_status "$(id susp)")" "queued - 0" "suspended tenant: stays queued"
it_sql -c "UPDATE tenant SET status = 'active' WHERE tenant_id = '$T2'"
it_wait "SELECT delivery_status = 'sent' FROM delivery_log WHERE profile_id = 'p-susp'" 10
it_ok "sent once the tenant is active"

# receipts
receipt() {	# receipt BODY [SECRET]: the HTTP status
	python3 - "${dl_port[s]}" "$1" "${2:-receipts-secret}" <<'PY'
import hashlib, hmac, sys, time, urllib.request, urllib.error
port, body, secret = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
t = str(int(time.time()))
sig = "t=%s,v1=%s" % (t, hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest())
req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/receipts", data=body, method="POST",
                             headers={"X-Leo-Signature": sig, "Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
push=$(id push)
it_eq "$(receipt "{\"tenant_id\":\"$T1\",\"delivery_id\":$push,\"status\":\"delivered\"}" wrong)" 401 \
	"receipt with a bad signature"
it_eq "$(dl_status "$push")" "sent - 1" "nothing changed by it"
it_eq "$(receipt "{\"tenant_id\":\"$T1\",\"delivery_id\":$push,\"status\":\"delivered\",\"provider_response\":{\"id\":\"x1\"}}")" \
	200 "signed receipt"
it_eq "$(it_sql -c "SELECT delivery_status || ' ' || (provider_response->>'id') FROM delivery_log WHERE delivery_id = $push")" \
	"delivered x1" "sent -> delivered, its provider_response"
it_eq "$(receipt "{\"tenant_id\":\"$T2\",\"delivery_id\":$push,\"status\":\"delivered\"}")" 404 \
	"another tenant's delivery is unknown"
it_eq "$(receipt "{\"tenant_id\":\"$T1\",\"delivery_id\":$(id noaddr),\"status\":\"delivered\"}")" 409 \
	"failed -> delivered is refused"
it_eq "$(dl_status "$(id noaddr)")" "failed no_address 0" "nothing changed by it"
it_eq "$(receipt "{\"tenant_id\":\"$T1\",\"delivery_id\":\"x\"}")" 400 "malformed receipt"

it_eq "$(dl_metric s 'leo_deliver_sent_total{channel="sms"}')" 3 "metric sent sms"
it_eq "$(dl_metric s 'leo_deliver_failed_total{channel="sms",reason="template"}')" 1 "metric failed template"
it_eq "$(dl_metric s 'leo_receipts_total{result="ok"}')" 1 "metric receipts ok"
it_eq "$(dl_metric s 'leo_deliver_channel_configured{channel="email"}')" 0 "email has no transport"
it_stop s
it_eq "$(grep -c 'channel email has no transport' "$it_tmp/daemon-s.log")" 1 "said once"
