#!/usr/bin/env bash
# leo-deliver's command line and signals: --check-template (0, or 65 with
# file:line:column: reason), --check-config (0, or 78 naming each problem),
# a secret file that cannot be read or holds a carriage return stops the
# start (78), SIGHUP applies a reloadable key and keeps a channel's with a
# warning, SIGTERM stops clean.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver_lib.sh"
rc() { local r=0; "$@" >"$it_tmp/out" 2>&1 || r=$?; echo $r; }

printf 'Hi {{ profile.profile_id | upper }}\n' >"$it_tmp/ok.tmpl"
printf 'line one\n{%% for x in y %%}\n' >"$it_tmp/bad.tmpl"
it_eq "$(rc "$LEO_DELIVER" --check-template "$it_tmp/ok.tmpl")" 0 "--check-template, a good one"
it_eq "$(rc "$LEO_DELIVER" --check-template "$it_tmp/bad.tmpl")" 65 "--check-template, a bad one"
grep -q "^$it_tmp/bad.tmpl:2:[0-9]*: unclosed '{% for %}' opened at 2:1" "$it_tmp/out" || it_fail "its message: $(cat "$it_tmp/out")"
it_ok "file:line:column: reason"
it_eq "$(rc "$LEO_DELIVER" --check-template "$it_tmp/none.tmpl")" 66 "--check-template, no such file"
it_eq "$(rc "$LEO_DELIVER" --check-template)" 64 "--check-template without a file"

it_newdb
printf 'deliver:\n  poll_interval_s: 0\n' >"$it_tmp/bad1.yaml"
printf 'deliver:\n  channels:\n    sms:\n      kind: smtp\n      url: "http://x"\n      path: "/tmp/x"\n' \
	>"$it_tmp/bad2.yaml"
it_eq "$(rc "$LEO_DELIVER" --check-config --config "$it_tmp/bad1.yaml")" 78 "--check-config, a bad value"
grep -q "deliver.poll_interval_s" "$it_tmp/out" || it_fail "no word on the key: $(cat "$it_tmp/out")"
it_eq "$(rc "$LEO_DELIVER" --check-config --config "$it_tmp/bad2.yaml")" 78 "--check-config, a channel's keys"
for want in "deliver.channels.sms.url" "deliver.channels.sms.path"; do
	grep -q "$want" "$it_tmp/out" || it_fail "no word on $want: $(cat "$it_tmp/out")"
done
it_ok "each problem named"

dl_config s <<YAML
  poll_interval_s: 30
  receipts_secret_file: "$it_tmp/no-such-secret"
YAML
it_eq "$(rc "$LEO_DELIVER" --config "$it_tmp/deliver-s.yaml")" 78 "an unreadable secret file stops the start"
grep -q "no-such-secret" "$it_tmp/out" || it_fail "it does not say which: $(cat "$it_tmp/out")"
printf 'Bearer a\rX-Injected: 1\n' >"$it_tmp/cr-secret"
dl_config s <<YAML
  poll_interval_s: 30
  channels:
    web_push:
      kind: http
      url: "https://push.example.com/"
      header_files: { Authorization: "$it_tmp/cr-secret" }
YAML
it_eq "$(rc "$LEO_DELIVER" --config "$it_tmp/deliver-s.yaml")" 78 "a header secret with a carriage return stops the start"
grep -q "header_files Authorization: .*cr-secret holds a carriage return" "$it_tmp/out" ||
	it_fail "it does not say which: $(cat "$it_tmp/out")"

dl_config s <<YAML
  poll_interval_s: 30
  channels:
    sms:
      kind: file
      path: "$it_tmp/outbox.jsonl"
YAML
dl_start s
sed -i -e 's/poll_interval_s: 30/poll_interval_s: 1/' -e "s#outbox.jsonl#other.jsonl#" "$it_tmp/deliver-s.yaml"
kill -HUP "${it_pids[s]}"
it_wait_log s "deliver.channels.sms.path" 10
it_ok "SIGHUP: a channel's key needs a restart, and says so"
# the poll now runs every second: a delivery made without a notification is sent soon
it_tenant "$T1" t1
it_profile "$T1" p1
it_sql -c "UPDATE cdp_profiles SET identities = '[\"phone:+841\"]'"
it_consent "$T1" p1 sms granted
it_sql -c "INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key, consent_legal_basis,
	consent_source, consent_granted_at) VALUES ('$T1', 'p1', 'sms', 'manual:1', 'consent', 'test', now())" 2>"$it_tmp/ins.err" ||
	it_fail "cannot queue a delivery by hand: $(cat "$it_tmp/ins.err")"
it_wait "SELECT delivery_status = 'sent' FROM delivery_log" 10
it_ok "the reloaded poll interval picked it up"
[ -s "$it_tmp/outbox.jsonl" ] && [ ! -e "$it_tmp/other.jsonl" ] || it_fail "the channel's path changed without a restart"
it_ok "the channel kept its path"
it_stop s
