#!/usr/bin/env bash
# Consent at write time: granted -> delivery with the consent evidence;
# missing, revoked, expired -> no delivery, an agent_task saying why, and
# the suppression counted by reason.  Also: a consent revoked while the
# daemon runs applies to the next firing (no cache), and the reasoning
# trace names the related news item.  Each delivery, and nothing else, is
# announced on leo_delivery as "tenant delivery_id".
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
for p in granted missing revoked expired later; do it_profile "$T1" "$p"; done
it_consent "$T1" granted sms granted
it_consent "$T1" revoked sms revoked
it_consent "$T1" expired sms granted "now() - interval '1 hour'"
it_consent "$T1" later sms granted "now() + interval '1 day'"
it_price ACME 10
for p in granted missing revoked expired later; do
	it_rule "$T1" "$p" ACME '{"operator": "crosses_above", "value": 20}' REARM sms >/dev/null
done
it_sql -c "INSERT INTO news_feed (headline, source, published_at, related_symbols) VALUES
	('old news', 'wire', now() - interval '30 hours', ARRAY['ACME']),
	('ACME beats estimates', 'wire', now() - interval '2 hours', ARRAY['ACME', 'XYZ']),
	('other', 'wire', now() - interval '1 hour', ARRAY['XYZ'])"
news=$(it_sql -c "SELECT news_id FROM news_feed WHERE headline = 'ACME beats estimates'")

# psql prints the notifications that came after each command it runs
( echo "LISTEN leo_delivery;"
  while [ ! -e "$it_tmp/heard" ]; do sleep 0.1; done
  echo "SELECT 1;" ) | it_sql >"$it_tmp/listener.txt" &
listener=$!
it_config stats
it_start
it_price ACME 21
it_wait "SELECT count(*) = 5 FROM agent_task"
it_settle 1
touch "$it_tmp/heard"
wait $listener
it_eq "$(sed -n 's/^Asynchronous notification "leo_delivery" with payload "\(.*\)" received.*/\1/p' \
	"$it_tmp/listener.txt" | LC_ALL=C sort | tr '\n' ' ')" \
	"$(it_sql -c "SELECT n FROM (SELECT tenant_id || ' ' || delivery_id AS n FROM delivery_log) d ORDER BY n COLLATE \"C\"" | tr '\n' ' ')" \
	"one leo_delivery notification per delivery, after its commit"

it_eq "$(it_sql -c "SELECT string_agg(profile_id, ',' ORDER BY profile_id) FROM delivery_log")" \
	"granted,later" "profiles delivered"
it_eq "$(it_sql -c "SELECT consent_legal_basis || ' ' || consent_source || ' ' ||
	(consent_granted_at IS NOT NULL) || ' ' || delivery_status || ' ' || channel
	FROM delivery_log WHERE profile_id = 'granted'")" "consent test true queued sms" \
	"consent evidence copied"
for p in granted missing revoked expired; do
	it_eq "$(it_sql -c "SELECT reasoning_trace->1->>'result' FROM agent_task a
		JOIN alert_rules r USING (rule_id) WHERE r.profile_id = '$p'")" \
		"$( [ $p = granted ] && echo granted || echo $p)" "consent step for $p"
done
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task WHERE related_news_id = $news")" 5 \
	"related_news_id is the newest ACME item of the last 24 h"
it_eq "$(it_metric 'leo_deliveries_suppressed_total{reason="consent_missing"}')" 1 "metric missing"
it_eq "$(it_metric 'leo_deliveries_suppressed_total{reason="consent_revoked"}')" 1 "metric revoked"
it_eq "$(it_metric 'leo_deliveries_suppressed_total{reason="consent_expired"}')" 1 "metric expired"
it_eq "$(it_metric leo_deliveries_written_total)" 2 "metric written"
it_eq "$(it_sql -c "SELECT count(*) > 0 FROM pg_stat_activity
	WHERE usename = 'leo_daemon' AND datname = '$it_db'")" t "daemon connected as leo_daemon"

# revoke "later" while running; the next crossing is suppressed for it
it_sql -c "UPDATE consent_management SET status = 'revoked', revoked_at = now()
	WHERE profile_id = 'later'"
it_price ACME 19
it_price ACME 22
it_wait "SELECT count(*) = 10 FROM agent_task"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE profile_id = 'later'")" 1 \
	"deliveries for a consent revoked at run time"
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE profile_id = 'granted'")" 2 \
	"deliveries for granted"
it_eq "$(it_metric leo_consent_changes_total)" 1 "consent change notifications counted"
it_stop
