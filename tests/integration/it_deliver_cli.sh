#!/usr/bin/env bash
# leo-deliver's command line and signals: --check-template (0, or 65 with
# file:line:column: reason), --check-config (0, or 78 naming each problem),
# a secret file that cannot be read or holds a carriage return stops the
# start (78), SIGHUP applies a reloadable key and keeps a channel's with a
# warning, SIGHUP with a broken file (YAML syntax, unknown key, bad value)
# keeps the whole running config and says why, SIGTERM stops clean.
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

# ---- SIGHUP with a broken file: each is refused, by file, line and problem;
# the running config stays whole: its log lines stay JSON (the default is
# text), the sms channel still sends and the stats endpoint answers.  Then a
# good file is taken.
dl_get() {	# dl_get NAME PATH: the HTTP status of a sender's stats endpoint
	python3 - "${dl_port[$1]}" "$2" <<'PY'
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
dl_queue() {	# dl_queue KEY [notify]: a delivery to p1 by sms, announced or not
	it_sql -c "INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key, consent_legal_basis,
		consent_source, consent_granted_at) VALUES ('$T1', 'p1', 'sms', '$1', 'consent', 'test', now())"
	[ "${2:-}" != notify ] || it_sql -c "SELECT pg_notify('leo_delivery', '$T1 0')" >/dev/null
}
json='^{"ts":"[^"]*","level":"info","thread":"loop","msg":"'
dl_config r <<YAML
  poll_interval_s: 3600
  channels:
    sms:
      kind: file
      path: "$it_tmp/r-outbox.jsonl"
YAML
sed -i 's/^  level: .*/&\n  format: json/' "$it_tmp/deliver-r.yaml"
dl_start r
cp "$it_tmp/deliver-r.yaml" "$it_tmp/r.good"
printf 'deliver:\n  poll_interval_s: [1\n' >"$it_tmp/r.syntax"
sed 's/poll_interval_s: 3600/poll_intervall_s: 1/' "$it_tmp/r.good" >"$it_tmp/r.unknown"
sed 's/poll_interval_s: 3600/poll_interval_s: often/' "$it_tmp/r.good" >"$it_tmp/r.invalid"
pl=$(grep -n 'poll_interval_s' "$it_tmp/r.good" | cut -d: -f1)
n=0
for bad in "syntax:3: (yaml): did not find expected ',' or ']'" \
	"unknown:$pl: deliver.poll_intervall_s: unknown key" \
	"invalid:$pl: deliver.poll_interval_s: \\\"often\\\" is not an integer"; do
	cp "$it_tmp/r.${bad%%:*}" "$it_tmp/deliver-r.yaml"
	kill -HUP "${it_pids[r]}"
	it_wait_log r "SIGHUP: $it_tmp/deliver-r.yaml has errors; keeping the running configuration" 10 $n
	n=$((n + 1))
	grep -qF "\"msg\":\"$it_tmp/deliver-r.yaml:${bad#*:}" "$it_tmp/daemon-r.log" ||
		it_fail "the ${bad%%:*} error: no JSON line naming the file and the problem: $(tail -n 3 "$it_tmp/daemon-r.log")"
	it_eq "$(dl_get r /readyz)" 200 "after the ${bad%%:*} error: still running, /readyz"
done
it_eq "$(dl_metric r 'leo_deliver_channel_configured{channel="sms"}')" 1 "the sms channel kept, in /metrics"
dl_queue r:1 notify
it_wait "SELECT delivery_status = 'sent' FROM delivery_log WHERE idempotency_key = 'r:1'" 10
grep -qF '"idempotency_key":"r:1"' "$it_tmp/r-outbox.jsonl" || it_fail "r:1 is not in the channel's file"
it_ok "after the refused reloads a delivery is still sent"

# the good file: text log lines again, and the poll every second (a delivery
# nobody announced is sent); the reload's first line is still the old format
sed -e 's/poll_interval_s: 3600/poll_interval_s: 1/' -e '/^  format: json$/d' \
	"$it_tmp/r.good" >"$it_tmp/deliver-r.yaml"
kill -HUP "${it_pids[r]}"
it_wait_log r "SIGHUP: reloading" 10 3
it_eq "$(grep -c "${json}SIGHUP: reloading" "$it_tmp/daemon-r.log")" 4 \
	"the refused reloads kept the running log format (JSON lines)"
dl_queue r:2
it_wait "SELECT delivery_status = 'sent' FROM delivery_log WHERE idempotency_key = 'r:2'" 10
it_ok "the good file took: a delivery nobody announced is sent by the one-second poll"
kill -HUP "${it_pids[r]}"
it_wait_log r '^[0-9T:.-]*Z info \[loop\] SIGHUP: reloading' 10
it_ok "the good file took: log lines are text again"
it_stop r
