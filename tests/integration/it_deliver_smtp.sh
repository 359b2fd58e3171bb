#!/usr/bin/env bash
# Email through leo-deliver to a real SMTP server (aiosmtpd on loopback,
# STARTTLS with the test's CA, AUTH with a password file): the rule's
# template renders a Vietnamese subject that arrives decoded as it was
# rendered, the Message-ID comes from the idempotency key, the body is the
# rendered text; a recipient the server refuses for now (451) is retried,
# one it refuses for good (550) fails at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver_lib.sh"
it_newdb
it_tenant "$T1" "An Bình"
for p in ok tempfail reject; do
	it_profile "$T1" "$p"
	it_sql -c "UPDATE cdp_profiles SET primary_email = '$p@example.vn' WHERE profile_id = '$p'"
	it_consent "$T1" "$p" email granted
done
it_price VNM 70000
it_sql -c "INSERT INTO message_templates (tenant_id, channel, subject_template, body_template)
	VALUES ('$T1', 'email', 'Cảnh báo {{ rule.symbol }}: giá {{ tick.price }}',
	'Xin chào {{ profile.profile_id }},
{{ rule.symbol }} vừa {{ rule.condition }}.
-- {{ tenant.tenant_name }}')"
for p in ok tempfail reject; do
	it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode,
		channel, template_id) SELECT '$T1', '$p', 'VNM',
		'{\"operator\": \"crosses_above\", \"value\": 72500}', 'ONCE', 'email', template_id
		FROM message_templates"
done
it_config
it_start
it_price VNM 72800
it_wait "SELECT count(*) = 3 FROM delivery_log"
it_stop

dl_receiver
dl_smtp
echo s3cret >"$it_tmp/smtp.password"
dl_config s <<YAML
  poll_interval_s: 1
  retry_initial_ms: 200
  retry_max_ms: 400
  max_attempts: 2
  channels:
    email:
      kind: smtp
      url: "smtp://127.0.0.1:$dl_sport"
      starttls: required
      username: leo
      password_file: "$it_tmp/smtp.password"
      from: "alerts@leo.example"
      ca_file: "$it_tmp/ca.pem"
      timeout_ms: 5000
YAML
dl_start s
it_wait "SELECT count(*) = 0 FROM delivery_log WHERE delivery_status = 'queued'" 20

id() { it_sql -c "SELECT delivery_id FROM delivery_log WHERE profile_id = '$1'"; }
it_eq "$(dl_status "$(id ok)")" "sent - 1" "accepted: sent"
python3 - "$it_tmp/mail/ok@example.vn.eml" "$(it_sql -c "SELECT idempotency_key FROM delivery_log WHERE profile_id = 'ok'")" <<'PY' || it_fail "the mail received"
import email, email.header, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
assert str(msg["Subject"]) == "Cảnh báo VNM: giá 72800", msg["Subject"]
assert msg["To"] == "ok@example.vn" and msg["From"] == "alerts@leo.example", (msg["To"], msg["From"])
key = sys.argv[2]
mid = msg["Message-ID"]
assert mid.startswith("<") and mid.endswith("@leo-deliver>"), mid
assert key.split(":")[0] in mid, (key, mid)
body = msg.get_content()
assert body.replace("\r\n", "\n").strip() == "Xin chào ok,\nVNM vừa price crosses above 72500.\n-- An Bình", repr(body)
PY
it_ok "subject, addresses, Message-ID, body"
grep -q '"encrypted": true' "$it_tmp/mail/ok@example.vn.json" || it_fail "the session was not encrypted"
it_ok "sent over STARTTLS"
it_eq "$(dl_status "$(id tempfail)")" "failed retries_exhausted 2" "451: retried, then exhausted"
it_eq "$(it_sql -c "SELECT string_agg(status_code::text, ',' ORDER BY attempt) FROM delivery_attempt
	WHERE delivery_id = $(id tempfail)")" "451,451" "each attempt's SMTP code"
it_eq "$(dl_status "$(id reject)")" "failed rejected 1" "550: failed at once"
it_stop s
