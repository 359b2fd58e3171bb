#!/usr/bin/env bash
# leo-alertd and leo-deliver on a throwaway PostgreSQL, fed ten years of
# real Dow Jones 30 closing prices (data/README.md).
#
# Installs the Debian packages it needs (as root), builds, starts PostgreSQL
# in a temporary directory, applies the schema, creates two tenants with
# profiles, consents (some missing, revoked or expired) and a few hundred
# rules of every operator family, starts the matcher and the sender (every
# channel a file of JSON lines, one tenant's email from a template),
# replays the prices as one market_snapshot UPDATE per trading day, prints a
# report, then runs leo-enrich on the profiles (given job titles, segments,
# portfolios and events) and prints, for two profiles, their nearest
# profiles and news by cosine similarity, and stops everything it started,
# whatever happens.
#
#   scripts/demo.sh               on PostgreSQL 15 (Debian's)
#   scripts/demo.sh --pg 18       on 18 (the npm build, scripts/pg-install.sh);
#                                 LEO_PG_VERSION=18 says the same
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$leo_top"

version=${LEO_PG_VERSION:-15}
while [ $# -gt 0 ]; do
	case $1 in
	--pg) version=${2:?--pg needs a version}; shift 2 ;;
	--pg=*) version=${1#--pg=}; shift ;;
	*) echo "usage: demo.sh [--pg VERSION]" >&2; exit 64 ;;
	esac
done

leo_install_packages build test
export LEO_PG_BINDIR
LEO_PG_BINDIR=$(leo_pg_bindir "$version")
echo "== build"
leo_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

work=$(mktemp -d /tmp/leo-demo.XXXXXX)
daemon= sender= enricher=
cleanup() {
	local p
	for p in $daemon $sender $enricher; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p"
			wait "$p" || true
		fi
	done
	"$leo_top/scripts/pgtmp.sh" stop "$work/pg" || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM	# so that cleanup runs on ^C too
[ "$(id -u)" -eq 0 ] && chmod 755 "$work"

echo "== PostgreSQL $version (throwaway, $work/pg)"
eval "$("$leo_top/scripts/pgtmp.sh" start "$work/pg")"
export PGHOST PGPORT PGUSER
psql -X -At -d postgres -c "SELECT version()"
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d leo_demo "$@"; }
psql -X -q -d postgres -c "CREATE DATABASE leo_demo"
"$leo_top/scripts/schema-apply.sh" leo_demo 2>&1 | grep -v NOTICE || true
psql -X -q -d postgres -c "CREATE ROLE leo_demo_daemon LOGIN IN ROLE leo_alertd"
psql -X -q -d postgres -c "CREATE ROLE leo_demo_sender LOGIN IN ROLE leo_deliver"

prices=$leo_top/data/fbasics_DowJones30_daily.csv
first=$(awk -F, 'NR == 2 { print $1; exit }' "$prices")

echo "== tenants, profiles, consents, rules"
sql <<SQL
INSERT INTO tenant (tenant_id, tenant_name, keycloak_realm) VALUES
	('5f0c8a2e-1d3b-4c7a-9e21-6b8d4f2a1c01', 'Acme Securities', 'acme'),
	('a3e19b74-52c8-4f06-8d3a-0c7e5b9f2d02', 'Blue Ocean Invest', 'blueocean');
-- the same 20 profile ids in both tenants: isolation is by tenant
INSERT INTO cdp_profiles (tenant_id, profile_id)
SELECT t.tenant_id, 'client-' || lpad(i::text, 2, '0')
  FROM tenant t, generate_series(1, 20) i;
-- addresses: an email and one identity per channel, but every 11th has none
UPDATE cdp_profiles SET primary_email = profile_id || '@' || (SELECT keycloak_realm FROM tenant t
		WHERE t.tenant_id = cdp_profiles.tenant_id) || '.example',
	identities = jsonb_build_array('phone:+8490' || substr(md5(profile_id), 1, 7),
		'webpush:sub-' || profile_id, 'zalo:' || profile_id)
 WHERE substr(profile_id, 8)::int % 11 <> 0;
-- channel per profile; consent granted except: every 5th missing, every
-- 7th revoked, every 9th expired
INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis,
	source, revoked_at, expires_at)
SELECT p.tenant_id, p.profile_id,
       (ARRAY['email', 'sms', 'web_push', 'zalo_oa']::leo_channel[])[i % 4 + 1],
       CASE WHEN i % 7 = 0 THEN 'revoked' ELSE 'granted' END,
       (ARRAY['consent', 'contract']::consent_legal_basis[])[i % 2 + 1],
       'onboarding form v3',
       CASE WHEN i % 7 = 0 THEN now() - interval '3 days' END,
       CASE WHEN i % 9 = 0 THEN now() - interval '1 day' END
  FROM cdp_profiles p, LATERAL (SELECT substr(p.profile_id, 8)::int) n(i)
 WHERE i % 5 <> 0;
-- the first trading day
INSERT INTO market_snapshot (symbol, price, change_percent)
SELECT symbol, price, 0 FROM (VALUES $(awk -F, -v d="$first" '$1 == d {
	printf "%s(%s, %s)", (n++ ? ", " : ""), "'"'"'" $2 "'"'"'", $3 }' "$prices")) v(symbol, price);
-- rules: every operator family, thresholds relative to the first price
CREATE TEMP TABLE tpl (n int, logic text, mode text);
INSERT INTO tpl VALUES
	(1, '{"operator": ">", "value": %s}', 'ONCE'),
	(2, '{"operator": "<", "value": %s}', 'ONCE'),
	(3, '{"operator": "crosses_above", "value": %s}', 'REARM'),
	(4, '{"operator": "crosses_below", "value": %s}', 'REARM'),
	(5, '{"operator": "crosses", "value": %s}', 'REARM'),
	(6, '{"operator": "outside", "low": %s, "high": %s}', 'ONCE'),
	(7, '{"operator": "exits", "low": %s, "high": %s}', 'REARM'),
	(8, '{"operator": "enters", "low": %s, "high": %s}', 'REARM'),
	(9, '{"operator": "moves_up_pct", "value": 8, "window_seconds": 5}', 'REARM'),
	(10, '{"operator": "moves_down_pct", "value": 8, "window_seconds": 5}', 'REARM'),
	(11, '{"all": [{"operator": ">=", "value": %s}, {"field": "change_percent", "operator": ">", "value": 3}]}', 'REARM'),
	(12, '{"any": [{"operator": "<=", "value": %s}, {"field": "change_percent", "operator": "<", "value": -5}]}', 'ONCE'),
	(13, '{"not": {"operator": "between", "low": %s, "high": %s}}', 'ONCE');
INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode,
	channel, source)
SELECT p.tenant_id, p.profile_id, m.symbol,
       format(tpl.logic,
              round(m.price * CASE WHEN tpl.n IN (2, 4, 12) THEN 0.7 WHEN tpl.n = 5 THEN 1.1 ELSE 1.5 END, 2),
              round(m.price * 2.0, 2))::jsonb,
       tpl.mode::trigger_mode,
       coalesce(c.channel, 'email'),
       CASE WHEN tpl.n > 8 THEN 'AI_AGENT' ELSE 'USER_MANUAL' END::alert_source
  FROM market_snapshot m
  CROSS JOIN tpl
  CROSS JOIN tenant t
  -- one profile per tenant, symbol and template, picked deterministically
  JOIN LATERAL (SELECT * FROM cdp_profiles p WHERE p.tenant_id = t.tenant_id
                 ORDER BY md5(m.symbol || tpl.n || p.profile_id) LIMIT 1) p ON true
  LEFT JOIN consent_management c ON c.tenant_id = p.tenant_id AND c.profile_id = p.profile_id
ON CONFLICT (rule_id) DO NOTHING;
-- Acme's email rules use a template of theirs; everything else the built-in text
INSERT INTO message_templates (tenant_id, template_name, channel, subject_template, body_template)
VALUES ('5f0c8a2e-1d3b-4c7a-9e21-6b8d4f2a1c01', 'price alert', 'email',
	'{{ rule.symbol }} {{ tick.price }}{% if tick.change_percent is defined %} ({{ tick.change_percent | round(2) }}%){% endif %}',
	'Dear {{ profile.profile_id | replace("-", " ") | title }},

{{ rule.symbol }} is at {{ tick.price }}: your alert "{{ rule.condition }}" fired
{%- if rule.trigger_count == 1 %} for the first time{% endif %}.
{% if news is defined %}Related: {{ news.headline }} ({{ news.source }})
{% endif %}-- {{ tenant.tenant_name }}');
UPDATE alert_rules r SET template_id = m.template_id
  FROM message_templates m WHERE r.tenant_id = m.tenant_id AND r.channel = 'email';
-- a news item naming some symbols, for the reasoning trace
INSERT INTO news_feed (headline, source, published_at, related_symbols) VALUES
	('Tech rally lifts Microsoft and Intel', 'demo wire', now() - interval '2 hours',
	 ARRAY['MSFT', 'INTC']);
SQL
echo "rules: $(sql -c "SELECT sum(n) || ' (' || string_agg(n || ' ' || o, ', ') || ')' FROM (
	SELECT coalesce(condition_logic->>'operator', (SELECT k FROM jsonb_object_keys(condition_logic) k LIMIT 1)) o,
	       count(*) n FROM alert_rules GROUP BY 1 ORDER BY 1) x")"

echo "== leo-alertd"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/leo-alertd.yaml" <<YAML
database:
  conninfo: "dbname=leo_demo user=leo_demo_daemon"
  pool_size: 2
engine:
  worker_threads: 2
writer:
  batch_max_rows: 500
  batch_max_delay_ms: 0
stats:
  listen: "127.0.0.1:$port"
log:
  level: info
YAML
build/leo-alertd --config "$work/leo-alertd.yaml" 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 100); do
	grep -q "ready: rules loaded" "$work/daemon.log" && break
	kill -0 "$daemon" 2>/dev/null || { cat "$work/daemon.log"; exit 1; }
	sleep 0.1
done
grep -q "ready: rules loaded" "$work/daemon.log" || { cat "$work/daemon.log"; exit 1; }
sed 's/^/  daemon: /' "$work/daemon.log"

echo "== leo-deliver (every channel a file: $work/outbox-*.jsonl)"
sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
	cat <<YAML
database:
  conninfo: "dbname=leo_demo user=leo_demo_sender"
stats:
  listen: "127.0.0.1:$sport"
deliver:
  poll_interval_s: 1
  channels:
YAML
	for c in email sms zalo_oa web_push whatsapp; do
		printf '    %s:\n      kind: file\n      path: "%s"\n' "$c" "$work/outbox-$c.jsonl"
	done
} >"$work/leo-deliver.yaml"
build/leo-deliver --config "$work/leo-deliver.yaml" 2>"$work/sender.log" &
sender=$!
for _ in $(seq 100); do
	grep -q "ready: listening for deliveries" "$work/sender.log" && break
	kill -0 "$sender" 2>/dev/null || { cat "$work/sender.log"; exit 1; }
	sleep 0.1
done
grep -q "ready: listening for deliveries" "$work/sender.log" || { cat "$work/sender.log"; exit 1; }
sed 's/^/  sender: /' "$work/sender.log"

days=$(awk -F, 'NR > 1 { print $1 }' "$prices" | uniq | wc -l)
echo "== replaying $days trading days ($(($(wc -l <"$prices") - 1)) prices), one UPDATE per day"
start=$(date +%s.%N)
awk -F, -v first="$first" '
	NR == 1 || $1 == first { next }
	$1 != day {
		if (day != "") flush()
		day = $1; n = 0; vals = ""
	}
	{ vals = vals (n++ ? ", " : "") "('"'"'" $2 "'"'"', " $3 ")" }
	function flush() {
		printf "UPDATE market_snapshot m SET price = v.p, change_percent = round((v.p - m.price) / m.price * 100, 4) FROM (VALUES %s) v(s, p) WHERE m.symbol = v.s;\n", vals
	}
	END { if (day != "") flush() }' "$prices" | sql
fed=$(date +%s.%N)
# wait until the daemon has written everything it decided
last=-1
while :; do
	sleep 0.5
	now=$(sql -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE delivery_status = 'queued')
		FROM agent_task LEFT JOIN delivery_log d ON d.idempotency_key = agent_task.task_id")
	[ "$now" = "$last" ] && [ "${now#* }" = 0 ] && break
	last=$now
done
end=$(date +%s.%N)

echo
echo "== report"
python3 -c "print('replay: prices fed in %.1f s, all firings written and sent after %.1f s' % ($fed - $start, $end - $start))"
sql -F ' | ' -P footer=off <<'SQL'
\pset format aligned
\pset tuples_only off
SELECT coalesce(r.condition_logic->>'operator',
                (SELECT k FROM jsonb_object_keys(r.condition_logic) k LIMIT 1)) AS "operator",
       count(*) AS firings,
       count(*) FILTER (WHERE a.reasoning_trace->2->>'action' = 'deliver') AS delivered,
       count(*) FILTER (WHERE a.reasoning_trace->2->>'action' = 'suppress') AS "consent-suppressed",
       count(*) FILTER (WHERE a.reasoning_trace->2->>'action' = 'pause') AS "flood-paused"
  FROM agent_task a JOIN alert_rules r USING (rule_id)
 GROUP BY 1 ORDER BY 2 DESC;
SELECT t.tenant_name AS tenant,
       (SELECT count(*) FROM delivery_log d WHERE d.tenant_id = t.tenant_id) AS deliveries,
       count(*) FILTER (WHERE a.reasoning_trace->2->>'reason' = 'consent_missing') AS "no consent",
       count(*) FILTER (WHERE a.reasoning_trace->2->>'reason' = 'consent_revoked') AS revoked,
       count(*) FILTER (WHERE a.reasoning_trace->2->>'reason' = 'consent_expired') AS expired,
       count(*) FILTER (WHERE a.reasoning_trace->2->>'reason' = 'flood_guard') AS "flood guard"
  FROM tenant t JOIN agent_task a USING (tenant_id)
 GROUP BY t.tenant_id, t.tenant_name ORDER BY 1;
SELECT status, count(*) AS rules FROM alert_rules GROUP BY 1 ORDER BY 1;
SELECT d.channel, d.delivery_status AS status, coalesce(d.provider_response->>'reason', '') AS reason,
       count(*) AS deliveries, sum(a.n) AS attempts
  FROM delivery_log d
  CROSS JOIN LATERAL (SELECT count(*) AS n FROM delivery_attempt a
                       WHERE a.tenant_id = d.tenant_id AND a.delivery_id = d.delivery_id) a
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SQL
echo
echo "what the sender wrote, one message per channel (to, subject, body):"
for c in email sms web_push zalo_oa; do
	f=$work/outbox-$c.jsonl
	[ -s "$f" ] || continue
	python3 - "$f" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
print("  [%s] to %s%s" % (d["channel"], d["to"], "" if d["subject"] is None else ", subject: " + d["subject"]))
for line in d["body"].splitlines():
    print("      " + line)
PY
done
echo
echo "a few reasoning summaries:"
sql -c "(SELECT reasoning_summary FROM agent_task WHERE reasoning_trace->2->>'action' = 'deliver'
	 ORDER BY task_id LIMIT 2)
	UNION ALL (SELECT reasoning_summary FROM agent_task WHERE reasoning_trace->2->>'action' = 'suppress'
	 ORDER BY task_id LIMIT 2)
	UNION ALL (SELECT reasoning_summary FROM agent_task WHERE related_news_id IS NOT NULL LIMIT 1)" |
	sed 's/^/  - /'
echo
echo "latency, price change received -> firing committed (the daemon's /metrics):"
python3 - "$port" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
buckets, count, total, other = [], 0, 0.0, {}
for line in body.splitlines():
    if line.startswith("leo_tick_to_commit_seconds_bucket"):
        le = line.split('le="')[1].split('"')[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    elif line.startswith("leo_batch_rows_count"):
        other["write batches"] = int(float(line.split()[-1]))
    elif line.startswith("leo_tick_to_commit_seconds_count"):
        count = float(line.split()[-1])
    elif line.startswith("leo_tick_to_commit_seconds_sum"):
        total = float(line.split()[-1])
    elif line.split(" ")[0] in ("leo_ticks_received_total", "leo_alerts_fired_total",
                                "leo_deliveries_written_total", "leo_rule_evaluations_total"):
        other[line.split(" ")[0]] = int(float(line.split()[-1]))
def q(p):
    for le, c in buckets:
        if c >= p * count:
            return "<= %g ms" % (le * 1000) if le != float("inf") else "> last bucket"
if count:
    print("  firings %d, mean %.1f ms, p50 %s, p90 %s, p99 %s" %
          (count, total / count * 1000, q(0.5), q(0.9), q(0.99)))
for k, v in other.items():
    print("  %s %d" % (k, v))
PY

echo
echo "== stopping"
kill -TERM "$daemon" "$sender"
wait "$daemon"
wait "$sender"
daemon= sender=
tail -n 2 "$work/daemon.log" | sed 's/^/  daemon: /'
tail -n 1 "$work/sender.log" | sed 's/^/  sender: /'

echo
echo "== leo-enrich: embeddings of profiles and news"
psql -X -q -d postgres -c "CREATE ROLE leo_demo_enricher LOGIN IN ROLE leo_enrich"
sql <<'SQL'
-- what a profile's document is made of: titles, segments, a city, a
-- portfolio of Dow symbols and events on the news, rules and a campaign
INSERT INTO news_feed (headline, body, source, related_symbols) VALUES
	('Microsoft and Intel lead a chip and software rally', 'Technology shares rose.', 'demo wire', '{MSFT,INTC}'),
	('Boeing wins a large aircraft order', 'Aerospace up.', 'demo wire', '{BA}'),
	('Coca-Cola raises its dividend', 'Consumer staples steady.', 'demo wire', '{KO}'),
	('Oil majors slide as crude falls', 'Exxon lower.', 'demo wire', '{XOM}');
INSERT INTO campaign (tenant_id, campaign_id, campaign_code, campaign_name)
SELECT tenant_id, 'tech-week', 'TECH', 'Technology week' FROM tenant;
WITH kind AS (
	SELECT * FROM (VALUES
		(0, '["Software engineer", "Tech investor"]', '["active trader"]', 'Hanoi', 'MSFT,INTC,IBM', 'Microsoft'),
		(1, '["Pilot", "Aerospace engineer"]', '["long term"]', 'Da Nang', 'BA,UTX,HON', 'Boeing'),
		(2, '["Retiree", "Dividend investor"]', '["income seeker"]', 'Ho Chi Minh City', 'KO,PG,JNJ', 'Coca-Cola'),
		(3, '["Petroleum engineer"]', '["energy"]', 'Vung Tau', 'XOM,CVX', 'Oil'))
	AS k(n, titles, segs, city, syms, topic)
)
UPDATE cdp_profiles p
   SET job_titles = k.titles::jsonb, segments = k.segs::jsonb,
       living_location = (ARRAY[k.city, 'Hanoi', 'Hue', 'Can Tho', 'Hai Phong'])[1 + substr(p.profile_id, 8)::int % 5],
       portfolio_snapshot = jsonb_build_object('positions',
		(SELECT jsonb_agg(jsonb_build_object('symbol', s)) FROM unnest(string_to_array(k.syms, ',')) s))
  FROM kind k
 WHERE k.n = substr(p.profile_id, 8)::int % 4;
INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type, entity_id)
SELECT p.tenant_id, p.profile_id, 'VIEW', 'NEWS', n.news_id::text
  FROM cdp_profiles p JOIN news_feed n
    ON n.headline LIKE '%' || (ARRAY['Microsoft', 'Boeing', 'Coca-Cola', 'Oil'])[1 + substr(p.profile_id, 8)::int % 4] || '%';
INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type, entity_id)
SELECT tenant_id, profile_id, 'CLICK', 'CAMPAIGN', 'tech-week' FROM cdp_profiles
 WHERE substr(profile_id, 8)::int % 4 = 0;
SQL
cat >"$work/leo-enrich.yaml" <<YAML
database:
  conninfo: "dbname=leo_demo user=leo_demo_enricher"
stats:
  listen: ""
YAML
build/leo-enrich --config "$work/leo-enrich.yaml" 2>"$work/enrich.log" &
enricher=$!
for _ in $(seq 300); do
	[ "$(sql -c "SELECT count(*) FROM embedding_job WHERE status IN ('queued', 'running')")" = 0 ] &&
	[ "$(sql -c "SELECT count(*) FROM news_feed WHERE content_embedding IS NULL")" = 0 ] && break
	kill -0 "$enricher" 2>/dev/null || { cat "$work/enrich.log"; exit 1; }
	sleep 0.1
done
sed 's/^/  enrich: /' "$work/enrich.log"
echo "embedded: $(sql -c "SELECT count(*) FROM cdp_profiles WHERE interest_embedding IS NOT NULL") profiles, $(sql -c "SELECT count(*) FROM news_feed WHERE content_embedding IS NOT NULL") news"
# cosine similarity: pgvector's <=> when the columns are vectors, else the
# dot product of the real[] (both are L2-normalised)
if [ "$(sql -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'cdp_profiles'::regclass AND attname = 'interest_embedding'")" = "real[]" ]; then
	cosp='(SELECT sum(x * y) FROM unnest(a.interest_embedding, b.interest_embedding) u(x, y))'
	cosn='(SELECT sum(x * y) FROM unnest(a.interest_embedding, n.content_embedding) u(x, y))'
else
	cosp='1 - (a.interest_embedding <=> b.interest_embedding)'
	cosn='1 - (a.interest_embedding <=> n.content_embedding)'
fi
for who in client-04 client-06; do
	tenant=5f0c8a2e-1d3b-4c7a-9e21-6b8d4f2a1c01
	echo
	echo "$who of Acme Securities: $(sql -c "SELECT job_titles::text || ' in ' || living_location || ', holding ' || (SELECT string_agg(x->>'symbol', ' ') FROM jsonb_array_elements(portfolio_snapshot->'positions') x) FROM cdp_profiles WHERE tenant_id = '$tenant' AND profile_id = '$who'")"
	echo "  nearest profiles:"
	sql -c "SELECT '    ' || b.profile_id || '  ' || round(($cosp)::numeric, 3) || '  ' || b.job_titles::text
		  FROM cdp_profiles a JOIN cdp_profiles b ON b.tenant_id = a.tenant_id AND b.profile_id <> a.profile_id
		 WHERE a.tenant_id = '$tenant' AND a.profile_id = '$who'
		 ORDER BY $cosp DESC, b.profile_id LIMIT 3"
	echo "  nearest news:"
	sql -c "SELECT '    ' || round(($cosn)::numeric, 3) || '  ' || n.headline
		  FROM cdp_profiles a, news_feed n
		 WHERE a.tenant_id = '$tenant' AND a.profile_id = '$who' AND n.content_embedding IS NOT NULL
		 ORDER BY $cosn DESC LIMIT 2"
done
kill -TERM "$enricher"
wait "$enricher"
enricher=
