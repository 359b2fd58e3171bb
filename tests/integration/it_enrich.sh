#!/usr/bin/env bash
# it_enrich: the real leo-enrich against a real database, as role leo_enricher.
#   hashing   two workers in one process (enrich.workers) on profiles of two
#             tenants with events: every job done by one of them, every
#             embedding of norm 1, the same fields giving the same vector in
#             both tenants, a profile nearer to one sharing its titles and
#             symbols, news embedded, metrics and health;
#   notify    a changed profile is embedded again within a second (the poll
#             tick is a minute away);
#   openai    against tests/servers/embed_server.py with its key: ok, then
#             500, 429 and a timeout (queued again with last_error and a
#             later run_after, then done), wrong dimension, NaN, infinity,
#             a cut body, a missing item (failed with last_error), a profile
#             deleted while its batch is being embedded (its job ends
#             quietly, the others are done);
#   config    --check-config: 0 for the shipped file, 78 for a bad one;
#   kill -9   mid-batch (the server hangs): the jobs come back after their
#             lease and are done by the next worker.
# LEO_ENRICH_BIN names the binary (lib_enrich.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_enrich.sh"
A=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa
B=bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb

it_newdb
it_tenant $A A
it_tenant $B B

norm_sql() {	# the largest distance of any embedding's norm from 1
	echo "SELECT coalesce(max(abs(sqrt(s) - 1)) < 1e-5, false) FROM (SELECT (SELECT sum(x * x) FROM unnest(interest_embedding) x) s FROM cdp_profiles WHERE interest_embedding IS NOT NULL) q"
}

# ---- hashing
it_sql <<SQL
INSERT INTO news_feed (headline, body, related_symbols) VALUES
	('Apple beats estimates', 'Record iPhone sales.', '{AAPL}'),
	('Vinamilk expands', NULL, '{VNM}');
INSERT INTO campaign (tenant_id, campaign_id, campaign_code, campaign_name)
VALUES ('$A', 'C1', 'SUM', 'Summer savers'), ('$B', 'C1', 'SUM', 'Summer savers');
INSERT INTO cdp_profiles (tenant_id, profile_id, job_titles, segments, living_location, portfolio_snapshot)
SELECT t, 'trader-' || i, '["Portfolio manager", "Equity trader"]', '["high value"]', 'Hanoi',
       '{"positions": [{"symbol": "AAPL"}, {"symbol": "VNM"}]}'
  FROM unnest(ARRAY['$A', '$B']::uuid[]) t, generate_series(1, 60) i;
INSERT INTO cdp_profiles (tenant_id, profile_id, job_titles, segments, living_location, portfolio_snapshot)
SELECT '$A', 'nurse-' || i, '["Nurse"]', '["newcomer"]', 'Paris', '{"positions": [{"symbol": "BTC"}]}'
  FROM generate_series(1, 10) i;
INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type, entity_id, occurred_at)
SELECT p.tenant_id, p.profile_id, 'VIEW', 'NEWS', (SELECT min(news_id)::text FROM news_feed),
       '2026-03-01'::timestamptz + g * interval '1 minute'
  FROM cdp_profiles p, generate_series(1, 5) g WHERE p.profile_id LIKE 'trader-%';
INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type, entity_id)
SELECT tenant_id, profile_id, 'CONVERT', 'CAMPAIGN', 'C1' FROM cdp_profiles WHERE profile_id LIKE 'nurse-%';
SQL
it_eq "$(it_sql -c "SELECT count(*) FROM embedding_job WHERE status = 'queued'")" 130 "queued jobs"
enrich_config h "poll_interval_s: 60" "batch_size: 16" "workers: 2"
enrich_start h
it_wait "SELECT count(*) = 130 FROM embedding_job WHERE status = 'done'" 30
it_eq "$(it_sql -c "SELECT count(*) FROM cdp_profiles WHERE interest_embedding IS NOT NULL")" 130 "embeddings written"
it_eq "$(it_sql -c "$(norm_sql)")" t "every embedding has norm 1"
it_eq "$(it_sql -c "SELECT count(*) FROM cdp_profiles a JOIN cdp_profiles b USING (profile_id) WHERE a.tenant_id = '$A' AND b.tenant_id = '$B' AND a.interest_embedding = b.interest_embedding")" 60 "the same fields give the same vector in both tenants"
it_eq "$(it_sql -c "WITH v AS (SELECT profile_id, interest_embedding e FROM cdp_profiles WHERE tenant_id = '$A'),
	cos AS (SELECT b.profile_id, (SELECT sum(x * y) FROM unnest(a.e, b.e) u(x, y)) c
		FROM v a, v b WHERE a.profile_id = 'trader-1' AND b.profile_id IN ('trader-2', 'nurse-1'))
	SELECT (SELECT c FROM cos WHERE profile_id = 'trader-2') > (SELECT c FROM cos WHERE profile_id = 'nurse-1') + 0.5")" t \
	"a trader is nearer to a trader than to a nurse"
it_wait "SELECT count(*) = 2 FROM news_feed WHERE content_embedding IS NOT NULL" 10
it_ok "news embedded"
it_eq "$(it_metric 'leo_enrich_jobs_total{result="done"}')" 130 "leo_enrich_jobs_total{result=done}"
grep -q '\[lane-1\] batch of' "$it_tmp/daemon-h.log" || it_fail "the second lane recorded no batch"
it_ok "both lanes worked the queue"
it_eq "$(it_metric 'leo_enrich_news_total{result="done"}')" 2 "leo_enrich_news_total{result=done}"
it_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$it_port/readyz")" 200 "/readyz"
if command -v promtool >/dev/null; then
	curl -s "http://127.0.0.1:$it_port/metrics" | promtool check metrics || it_fail "promtool check metrics"
	it_ok "promtool accepts /metrics"
fi

# ---- notify: a change is embedded at once, not at the next poll tick
before=$(it_sql -c "SELECT md5(interest_embedding::text) FROM cdp_profiles WHERE tenant_id = '$A' AND profile_id = 'nurse-1'")
it_sql -c "UPDATE cdp_profiles SET job_titles = '[\"Portfolio manager\"]' WHERE tenant_id = '$A' AND profile_id = 'nurse-1'"
it_wait "SELECT count(*) = 131 FROM embedding_job WHERE status = 'done'" 3
after=$(it_sql -c "SELECT md5(interest_embedding::text) FROM cdp_profiles WHERE tenant_id = '$A' AND profile_id = 'nurse-1'")
[ "$before" != "$after" ] || it_fail "the changed profile's embedding did not change"
it_ok "a changed profile is embedded again on NOTIFY"

# ---- SIGHUP: a bad file keeps the running config, a good one is taken
cp "$it_tmp/h.yaml" "$it_tmp/h.good"
printf 'enrich:\n  batch_size: 0\n' >"$it_tmp/h.yaml"
kill -HUP "${it_pids[h]}"
it_wait_log h "has errors; keeping the running configuration" 10
sed 's/batch_size: 16/batch_size: 4/' "$it_tmp/h.good" >"$it_tmp/h.yaml"
kill -HUP "${it_pids[h]}"
it_wait_log h "lane 1: configuration reloaded" 10
it_sql -c "UPDATE cdp_profiles SET segments = '[\"reloaded\"]' WHERE tenant_id = '$A' AND profile_id LIKE 'nurse-%'"
it_wait "SELECT count(*) = 141 FROM embedding_job WHERE status = 'done'" 5
grep -q "batch of 4 jobs recorded" "$it_tmp/daemon-h.log" || it_fail "batch_size 4 not in effect after SIGHUP"
it_ok "SIGHUP: a bad file is refused, a good one changes batch_size"
it_stop h

# ---- openai
mode=$it_tmp/mode
echo "sekrit-key" >"$it_tmp/key"
python3 "$it_top/tests/servers/embed_server.py" "$mode" "$it_tmp/server.log" sekrit-key >"$it_tmp/server.out" &
it_pids[server]=$!
for _ in $(seq 50); do grep -q PORT "$it_tmp/server.out" 2>/dev/null && break; sleep 0.1; done
sport=$(awk '/PORT/ {print $2}' "$it_tmp/server.out")
[ -n "$sport" ] || it_fail "embed_server did not start"
openai_config() {	# openai_config NAME LEASE TIMEOUT_MS: one worker, so that the jobs
	# queued together are claimed and sent together (two lanes may split them)
	enrich_config "$1" "workers: 1" "poll_interval_s: 1" "lease_s: $2" "batch_size: 8" "backoff_initial_s: 1" \
		"backoff_max_s: 1" "max_attempts: 5" "news: false" "embedder:" "  kind: openai" \
		"  base_url: \"http://127.0.0.1:$sport/v1\"" "  api_key_file: \"$it_tmp/key\"" \
		"  timeout_ms: $3"
}
newjobs() {	# newjobs PREFIX N: N new profiles of A, one queued job each
	it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id, job_titles) SELECT '$A', '$1-' || i, '[\"Analyst\"]' FROM generate_series(1, $2) i"
}
jobs_of() {	# jobs_of PREFIX: status|attempts|last_error, one line per distinct
	it_sql -c "SELECT DISTINCT j.status || '|' || j.attempts || '|' || coalesce(j.last_error, '') FROM embedding_job j WHERE j.tenant_id = '$A' AND j.profile_id LIKE '$1-%'"
}

echo ok >"$mode"
newjobs ok 10
openai_config o 30 2000
enrich_start o
it_wait "SELECT count(*) = 10 FROM embedding_job WHERE profile_id LIKE 'ok-%' AND status = 'done'" 20
it_eq "$(it_sql -c "$(norm_sql)")" t "openai embeddings are written with norm 1"
it_eq "$(python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(all(x['key_ok'] and x['dimensions']==1536 and x['model']=='text-embedding-3-small' and 1<=x['inputs']<=8 for x in r))" "$it_tmp/server.log")" True \
	"requests carry the key, the model, dimensions 1536, batches of at most 8"

echo 500 >"$mode"
newjobs e500 3
it_wait "SELECT count(*) = 3 FROM embedding_job WHERE profile_id LIKE 'e500-%' AND attempts >= 1 AND status = 'queued' AND last_error = 'embeddings request: HTTP 500'" 20
it_ok "HTTP 500: queued again with attempts + 1 and last_error"
echo ok >"$mode"
it_wait "SELECT count(*) = 3 FROM embedding_job WHERE profile_id LIKE 'e500-%' AND status = 'done'" 20
it_ok "... and done once the server answers"

echo wrongdim >"$mode"
newjobs dim 2
it_wait "SELECT count(*) = 2 FROM embedding_job WHERE profile_id LIKE 'dim-%' AND status = 'failed'" 20
it_eq "$(jobs_of dim)" "failed|1|wrong dimension: data[0].embedding has 3 values, not 1536" "wrong dimension: failed at once"
echo nan >"$mode"
newjobs nan 2
it_wait "SELECT count(*) = 2 FROM embedding_job WHERE profile_id LIKE 'nan-%' AND status = 'failed'" 20
it_eq "$(jobs_of nan)" "failed|1|malformed answer: not JSON" "NaN: failed"
echo inf >"$mode"
newjobs inf 1
it_wait "SELECT count(*) = 1 FROM embedding_job WHERE profile_id LIKE 'inf-%' AND status = 'failed'" 20
it_eq "$(jobs_of inf)" "failed|1|data[0].embedding has NaN or infinite values" "infinity: failed"
echo malformed >"$mode"
newjobs cut 1
it_wait "SELECT count(*) = 1 FROM embedding_job WHERE profile_id LIKE 'cut-%' AND status = 'failed'" 20
it_eq "$(jobs_of cut)" "failed|1|malformed answer: not JSON" "a cut body: failed"
echo missing >"$mode"
newjobs miss 2
it_wait "SELECT count(*) = 2 FROM embedding_job WHERE profile_id LIKE 'miss-%' AND status = 'failed'" 20
it_eq "$(jobs_of miss)" "failed|1|missing items: 1 embeddings for 2 inputs" "a missing item: failed"
echo 429 >"$mode"
newjobs e429 1
it_wait "SELECT count(*) = 1 FROM embedding_job WHERE profile_id LIKE 'e429-%' AND attempts >= 1 AND status = 'queued' AND last_error = 'embeddings request: HTTP 429'" 20
it_ok "HTTP 429: queued again"
echo ok >"$mode"
it_wait "SELECT count(*) = 1 FROM embedding_job WHERE profile_id LIKE 'e429-%' AND status = 'done'" 20
it_ok "... and done"
echo slow >"$mode"
newjobs slow 3
it_wait "SELECT count(*) = 3 FROM embedding_job WHERE profile_id LIKE 'slow-%' AND status = 'running'" 20
it_sql -c "DELETE FROM cdp_profiles WHERE tenant_id = '$A' AND profile_id = 'slow-2'"
it_wait "SELECT count(*) = 2 FROM embedding_job WHERE profile_id LIKE 'slow-%' AND status = 'done'" 20
it_eq "$(it_sql -c "SELECT count(*) FROM embedding_job WHERE profile_id = 'slow-2'")" 0 "a profile deleted mid-batch: its job ended quietly"
it_eq "$(it_metric 'leo_enrich_jobs_total{result="gone"}')" 1 "... counted as gone"
echo ok >"$mode"
it_stop o

# a timeout is transient too
echo hang >"$mode"
newjobs slowpoke 1
openai_config t 30 500
enrich_start t
it_wait "SELECT count(*) = 1 FROM embedding_job WHERE profile_id LIKE 'slowpoke-%' AND attempts >= 1 AND status = 'queued' AND last_error LIKE 'embeddings request: Timeout was reached%'" 20
it_ok "a timeout: queued again with last_error"
echo ok >"$mode"
it_wait "SELECT count(*) = 1 FROM embedding_job WHERE profile_id LIKE 'slowpoke-%' AND status = 'done'" 20
it_ok "... and done"
it_stop t

# ---- kill -9 mid-batch: the server hangs, the worker dies holding the jobs
echo hang >"$mode"
newjobs k9 4
openai_config k 5 60000
enrich_start k
it_wait "SELECT count(*) = 4 FROM embedding_job WHERE profile_id LIKE 'k9-%' AND status = 'running'" 20
it_stop k KILL
it_ok "killed with 4 jobs running"
echo ok >"$mode"
openai_config k2 5 2000
enrich_start k2
it_eq "$(it_sql -c "SELECT count(*) FROM embedding_job WHERE profile_id LIKE 'k9-%' AND status = 'running'")" 4 "their leases hold them for now"
it_wait "SELECT count(*) = 4 FROM embedding_job WHERE profile_id LIKE 'k9-%' AND status = 'done'" 20
it_eq "$(it_sql -c "SELECT DISTINCT attempts || '|' || (last_error LIKE 'lease of % ran out (worker lost)') FROM embedding_job WHERE profile_id LIKE 'k9-%'")" "1|true" \
	"done by the next worker once the lease ran out, saying so in last_error"
it_eq "$(it_sql -c "SELECT count(*) FROM embedding_job WHERE status = 'running'")" 0 "no job left running"
it_stop k2

# ---- config
"$LEO_ENRICH_BIN" --check-config --config "$it_top/config/leo-enrich.yaml" >/dev/null || it_fail "--check-config of the shipped file"
printf 'enrich:\n  batch_size: 0\n' >"$it_tmp/bad.yaml"
rc=0
"$LEO_ENRICH_BIN" --check-config --config "$it_tmp/bad.yaml" 2>"$it_tmp/bad.err" || rc=$?
it_eq "$rc" 78 "--check-config of a bad file exits 78"
grep -q "bad.yaml:2: .*batch_size" "$it_tmp/bad.err" || it_fail "no file:line: key in $(cat "$it_tmp/bad.err")"
it_ok "... naming the file, line and key"
echo "it_enrich: all ok"
