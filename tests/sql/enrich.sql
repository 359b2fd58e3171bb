-- leo-enrich's schema functions (schema/47_enrich.sql), called as the worker
-- calls them: as leo_enricher (a member of leo_enrich).  The document's
-- fields, claims and leases between two owners, done, transient and
-- permanent failures, max_attempts, a lost worker's lease, a deleted
-- profile, the jobs a changed profile queues (coalesced), news, the role's
-- limits, and the vector(1536) writer (on a stand-in type named vector).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir fixture.inc

SELECT no_plan();

\set A '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set B '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

SELECT is((SELECT count(*) FROM embedding_job WHERE status = 'queued'), 2::bigint,
	'each new profile queued a job');

-- A's P1: fields of every kind, and 4 events of which the claim reads 3.
UPDATE news_feed SET headline = 'Apple beats estimates' WHERE headline = 'Apple up';
UPDATE campaign SET campaign_name = 'Summer savers' WHERE tenant_id = :A;
DELETE FROM behavioral_events;
INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type, entity_id, occurred_at)
VALUES (:A, 'P1', 'VIEW', 'NEWS', (SELECT news_id::text FROM news_feed LIMIT 1), '2026-03-01 10:00Z'),
       (:A, 'P1', 'CLICK', 'ALERT', (SELECT rule_id FROM alert_rules WHERE tenant_id = :A), '2026-03-01 11:00Z'),
       (:A, 'P1', 'CONVERT', 'CAMPAIGN', 'C1', '2026-03-01 12:00Z'),
       (:A, 'P1', 'VIEW', 'NEWS', 'not-a-number', '2026-02-01 09:00Z');
DELETE FROM embedding_job;
UPDATE cdp_profiles SET job_titles = '["Portfolio manager", " ", 7, {"title": "Analyst"}]',
       segments = '{"not": "an array"}', living_location = ' Hanoi ',
       portfolio_snapshot = '{"cash": 100, "positions": [{"symbol": "VNM", "qty": 1}, {"symbol": "AAPL"}]}'
 WHERE tenant_id = :A;
SELECT is((SELECT count(*) FROM embedding_job WHERE tenant_id = :A AND status = 'queued'), 1::bigint,
	'changed job_titles and segments queue one job');
UPDATE cdp_profiles SET job_titles = '["Portfolio manager", "Analyst"]' WHERE tenant_id = :A;
SELECT is((SELECT count(*) FROM embedding_job WHERE tenant_id = :A), 1::bigint,
	'a second change is coalesced with the still-queued job');
UPDATE cdp_profiles SET living_location = 'Hanoi' WHERE tenant_id = :A;
SELECT is((SELECT count(*) FROM embedding_job WHERE tenant_id = :A), 1::bigint,
	'a change of other columns queues nothing');

SET ROLE leo_enricher;
SELECT is((SELECT count(*) FROM embedding_job), 0::bigint, 'no tenant set: no job is visible');
CREATE TEMP TABLE c1 AS SELECT * FROM leo_enrich_claim('w1', 60, 10, 3);
SELECT is((SELECT count(*) FROM c1), 1::bigint, 'w1 claims the due job over all tenants');
SELECT is(current_setting('app.current_tenant_id', true), '', 'the caller''s tenant is restored');
SELECT is((SELECT tenant_id FROM c1), :A::uuid, '... of tenant A');
SELECT is((SELECT attempt FROM c1), 1, '... attempt 1');
SELECT is((SELECT fields::jsonb FROM c1), '{"job_titles": ["Portfolio manager", "Analyst"],
	"segments": {"not": "an array"}, "location": "Hanoi",
	"portfolio": {"cash": 100, "positions": [{"symbol": "VNM", "qty": 1}, {"symbol": "AAPL"}]},
	"events": [{"type": "CONVERT", "entity": "CAMPAIGN", "text": "Summer savers"},
		   {"type": "CLICK", "entity": "ALERT", "text": "AAPL"},
		   {"type": "VIEW", "entity": "NEWS", "text": "Apple beats estimates"}]}'::jsonb,
	'fields: the profile''s own, the newest 3 events newest first with their labels');
SELECT is((SELECT count(*) FROM leo_enrich_claim('w2', 60, 10)), 0::bigint,
	'a held job is not claimed by another worker');
\set JA '(SELECT job_id FROM c1)'
SELECT is(leo_enrich_done('w2', :A, :JA, array_fill(0.5::real, ARRAY[1536])), 'lost',
	'done by a worker that does not hold the job is refused');
SELECT throws_ok($$SELECT leo_enrich_done('w1', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', (SELECT job_id FROM c1), array_fill(0.5::real, ARRAY[10]))$$,
	'23514', NULL, 'an embedding of the wrong length is refused by the column');
SELECT is(leo_enrich_done('w1', :A, :JA, array_fill(0.5::real, ARRAY[1536])), 'done', 'done');
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is((SELECT cardinality(interest_embedding) FROM cdp_profiles), 1536,
	'the profile has its embedding');
SELECT results_eq('SELECT status, lease_owner FROM embedding_job',
	$$VALUES ('done', NULL::text)$$, 'the job is done, the lease released');
SELECT throws_ok($$UPDATE cdp_profiles SET job_titles = '[]'$$, '42501', NULL,
	'the worker cannot change other columns of a profile');
SELECT throws_ok($$DELETE FROM embedding_job$$, '42501', NULL, 'nor delete jobs');
SELECT throws_ok($$UPDATE news_feed SET headline = 'x'$$, '42501', NULL, 'nor change news');

-- Failures: transient (backoff), max_attempts, permanent.
RESET ROLE;
INSERT INTO embedding_job (tenant_id, profile_id) VALUES (:B, 'P1');
DELETE FROM embedding_job WHERE tenant_id = :B AND job_id <> (SELECT max(job_id) FROM embedding_job WHERE tenant_id = :B);
SET ROLE leo_enricher;
CREATE TEMP TABLE c2 AS SELECT * FROM leo_enrich_claim('w1', 60, 10);
\set JB '(SELECT job_id FROM c2)'
SELECT is((SELECT count(*) FROM c2), 1::bigint, 'B''s job is claimed');
SELECT is(leo_enrich_fail('w1', :B, :JB, 'HTTP 503', false, 3600, 3), 'queued',
	'a transient error queues the job again');
SET app.current_tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
SELECT results_eq('SELECT status, attempts, last_error, run_after > now() + interval ''59 min'' FROM embedding_job',
	$$VALUES ('queued', 1, 'HTTP 503', true)$$, '... attempts + 1, last_error, run later');
SELECT is((SELECT count(*) FROM leo_enrich_claim('w1', 60, 10)), 0::bigint,
	'a job is not claimed before its run_after');
RESET ROLE;
UPDATE embedding_job SET run_after = now() WHERE tenant_id = :B;
SET ROLE leo_enricher;
SELECT is((SELECT attempt FROM leo_enrich_claim('w1', 60, 10)), 2, 'due again: attempt 2');
SELECT is(leo_enrich_fail('w1', :B, :JB, 'HTTP 429', false, 0, 2), 'failed',
	'the last attempt ends failed');
RESET ROLE;
UPDATE embedding_job SET status = 'queued', attempts = 0 WHERE tenant_id = :B;
SET ROLE leo_enricher;
SELECT is((SELECT count(*) FROM leo_enrich_claim('w1', 60, 10)), 1::bigint, 'claimed again');
SELECT is(leo_enrich_fail('w1', :B, :JB, 'wrong dimension: 3', true, 0, 5), 'failed',
	'a permanent error ends failed at once');
SET app.current_tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
SELECT results_eq('SELECT status, attempts, last_error FROM embedding_job',
	$$VALUES ('failed', 1, 'wrong dimension: 3')$$, '... with its last_error');
SELECT is(leo_enrich_fail('w1', :B, :JB, 'x', false, 0, 5), 'lost', 'a failed job is not failed again');

-- A lost worker: its lease runs out and the next claim takes the job.
RESET ROLE;
UPDATE embedding_job SET status = 'queued', attempts = 0, last_error = NULL WHERE tenant_id = :B;
SET ROLE leo_enricher;
SELECT is((SELECT count(*) FROM leo_enrich_claim('dead', 60, 10)), 1::bigint, 'a worker claims and dies');
RESET ROLE;
UPDATE embedding_job SET lease_until = now() - interval '1 s' WHERE tenant_id = :B;
SET ROLE leo_enricher;
SELECT is((SELECT attempt FROM leo_enrich_claim('w2', 60, 10)), 2,
	'its job is claimed again when the lease ran out, as attempt 2');
SET app.current_tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
SELECT results_eq('SELECT lease_owner, last_error FROM embedding_job',
	$$VALUES ('w2', 'lease of dead ran out (worker lost)')$$, '... saying so in last_error');
SELECT is(leo_enrich_done('dead', :B, :JB, array_fill(0.1::real, ARRAY[1536])), 'lost',
	'the dead worker''s late result is refused');
RESET ROLE;
UPDATE embedding_job SET lease_until = now() - interval '1 s', attempts = 4 WHERE tenant_id = :B;
SET ROLE leo_enricher;
SELECT is((SELECT count(*) FROM leo_enrich_claim('w3', 60, 10, 50, 5)), 0::bigint,
	'a job whose lease ran out once too often is not claimed again');
SET app.current_tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
SELECT is((SELECT status FROM embedding_job), 'failed', '... it ends failed');

-- A profile deleted while its job runs: the job ends quietly.
RESET ROLE;
UPDATE embedding_job SET status = 'queued', attempts = 0, lease_owner = NULL, lease_until = NULL
 WHERE tenant_id = :B;
SET ROLE leo_enricher;
SELECT is((SELECT count(*) FROM leo_enrich_claim('w1', 60, 10)), 1::bigint, 'claimed');
RESET ROLE;
DELETE FROM cdp_profiles WHERE tenant_id = :B;
SET ROLE leo_enricher;
SELECT is(leo_enrich_done('w1', :B, :JB, array_fill(0.1::real, ARRAY[1536])), 'gone',
	'done for a deleted profile: gone, nothing written');
SELECT is(leo_enrich_fail('w1', :B, :JB, 'x', false, 0, 5), 'lost', 'fail for it: lost');
RESET ROLE;
SELECT is((SELECT count(*) FROM embedding_job WHERE tenant_id = :B), 0::bigint,
	'its jobs went with it');

-- News.
SET ROLE leo_enricher;
SELECT is((SELECT count(*) FROM leo_enrich_news_pick(0, 10)), 1::bigint, 'news without an embedding');
SELECT is((SELECT count(*) FROM leo_enrich_news_pick((SELECT max(news_id) FROM news_feed), 10)),
	0::bigint, 'none after the cursor');
SELECT is(leo_enrich_news_done((SELECT max(news_id) FROM news_feed), array_fill(0.2::real, ARRAY[1536])),
	true, 'news embedding written');
SELECT is(leo_enrich_news_done((SELECT max(news_id) FROM news_feed), array_fill(0.3::real, ARRAY[1536])),
	false, 'a second write keeps the first');
SELECT is((SELECT count(*) FROM leo_enrich_news_pick(0, 10)), 0::bigint, 'no news left to embed');
SELECT results_eq('SELECT * FROM leo_enrich_backlog()', $$VALUES (0::bigint, 0::double precision)$$,
	'backlog: nothing waiting');
RESET ROLE;

-- A batch written in one statement: done for the jobs held, lost for a
-- job held by another worker, gone for a job that no longer exists.
RESET ROLE;
INSERT INTO cdp_profiles (tenant_id, profile_id) VALUES (:A, 'M1'), (:A, 'M2');
UPDATE embedding_job SET status = 'running', lease_owner = 'w9', lease_until = now() + interval '1 min'
 WHERE tenant_id = :A AND profile_id = 'M2';
SELECT (SELECT job_id FROM embedding_job WHERE profile_id = 'M1') AS m1,
       (SELECT job_id FROM embedding_job WHERE profile_id = 'M2') AS m2,
       array_fill(0.5::real, ARRAY[3 * 1536])::text AS v \gset
SET ROLE leo_enricher;
SELECT is((SELECT count(*) FROM leo_enrich_claim('w1', 60, 10)), 1::bigint,
	'M1''s job claimed (M2''s is held by w9)');
SELECT results_eq(format($$SELECT job_id, result FROM leo_enrich_done_many('w1', %L,
	ARRAY[%s, %s, 987654321], %L::real[]) ORDER BY job_id$$, :A, :m1, :m2, :'v'),
	format($$VALUES (%s::bigint, 'done'), (%s, 'lost'), (987654321, 'gone')$$, :m1, :m2),
	'done_many: done, lost, gone');
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT results_eq($$SELECT profile_id, interest_embedding IS NOT NULL FROM cdp_profiles
		    WHERE profile_id IN ('M1', 'M2') ORDER BY 1$$,
	$$VALUES ('M1', true), ('M2', false)$$, '... only the held job''s profile written');
RESET ROLE;
DELETE FROM cdp_profiles WHERE tenant_id = :A AND profile_id IN ('M1', 'M2');

-- The real[] embeddings are compressed with lz4, not pglz (the cost of a
-- write), where the server has lz4; a server built without it keeps its
-- default (attcompression empty).
SELECT is((SELECT string_agg(r.relname || '.' || a.attname || ' ' || a.attcompression::text, ', '
			     ORDER BY r.relname)
	     FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
	    WHERE r.oid IN ('public.cdp_profiles'::regclass, 'public.news_feed'::regclass)
	      AND a.attname IN ('interest_embedding', 'content_embedding')
	      AND a.atttypid = 'real[]'::regtype),
	(SELECT format('cdp_profiles.interest_embedding %1$s, news_feed.content_embedding %1$s',
		       CASE WHEN 'lz4' = ANY (enumvals) THEN 'l' ELSE '' END)
	   FROM pg_settings WHERE name = 'default_toast_compression'),
	'real[] embeddings: lz4 compression where the server has it');

-- The vector writer: with the columns of a type named vector (a stand-in
-- for pgvector's, which this server may lack), the writers cast to it.
CREATE SCHEMA fakevec;
CREATE DOMAIN fakevec.vector AS real[] CHECK (cardinality(VALUE) = 1536);
ALTER TABLE cdp_profiles DROP COLUMN interest_embedding;
ALTER TABLE cdp_profiles ADD COLUMN interest_embedding fakevec.vector;
SELECT leo_enrich_make_writers();
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname = 'leo_enrich_done'),
	'interest_embedding = p_embedding::fakevec\.vector', 'done casts to the vector type');
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname = 'leo_enrich_done_many'),
	'interest_embedding = v\.emb::fakevec\.vector', 'done_many casts to it too');
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname = 'leo_enrich_news_done'),
	'content_embedding = p_embedding\s', 'news stays real[] while its column is');
GRANT USAGE ON SCHEMA fakevec TO leo_enrich;
GRANT UPDATE (interest_embedding) ON cdp_profiles TO leo_enrich;
INSERT INTO embedding_job (tenant_id, profile_id) VALUES (:A, 'P1');
SET ROLE leo_enricher;
CREATE TEMP TABLE c3 AS SELECT * FROM leo_enrich_claim('w1', 60, 10);
SELECT is(leo_enrich_done('w1', :A, (SELECT job_id FROM c3), array_fill(0.25::real, ARRAY[1536])),
	'done', 'done through the vector cast');
RESET ROLE;
SELECT is((SELECT interest_embedding[1] FROM cdp_profiles WHERE tenant_id = :A), 0.25::real,
	'... written');

-- The fields are put together as text: every string that is not a fixed
-- word must come out as valid JSON holding exactly the original, whatever
-- it contains (quotes, backslashes, control characters, non-ASCII), and a
-- missing label is null.
RESET ROLE;
INSERT INTO news_feed (headline) VALUES (E'Say "hi" \\ back\tthen\nnext \u2603 \x01');
UPDATE campaign SET campaign_name = NULL WHERE tenant_id = :A;
UPDATE cdp_profiles SET living_location = E'Ha "Noi" \\' WHERE tenant_id = :A;
DELETE FROM behavioral_events WHERE tenant_id = :A;
INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type, entity_id, occurred_at)
VALUES (:A, 'P1', 'VIEW', 'NEWS', (SELECT max(news_id)::text FROM news_feed), '2026-03-02 10:00Z'),
       (:A, 'P1', 'CLICK', 'CAMPAIGN', 'C1', '2026-03-02 09:00Z'),
       (:A, 'P1', 'VIEW', 'NEWS', '00' || (SELECT max(news_id)::text FROM news_feed), '2026-03-02 08:00Z'),
       (:A, 'P1', 'VIEW', 'ALERT', 'no-such-rule', '2026-03-02 07:00Z'),
       (:A, 'P1', 'VIEW', 'NEWS', NULL, '2026-03-02 06:00Z');
SET ROLE leo_enricher;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is(leo_enrich_fields('P1', 10)::jsonb -> 'events',
	jsonb_build_array(
		jsonb_build_object('type', 'VIEW', 'entity', 'NEWS',
				   'text', E'Say "hi" \\ back\tthen\nnext \u2603 \x01'),
		jsonb_build_object('type', 'CLICK', 'entity', 'CAMPAIGN', 'text', NULL),
		jsonb_build_object('type', 'VIEW', 'entity', 'NEWS',
				   'text', E'Say "hi" \\ back\tthen\nnext \u2603 \x01'),
		jsonb_build_object('type', 'VIEW', 'entity', 'ALERT', 'text', NULL),
		jsonb_build_object('type', 'VIEW', 'entity', 'NEWS', 'text', NULL)),
	'fields: labels escaped as JSON, the same id written with leading zeros, missing labels null');
SELECT is(leo_enrich_fields('P1', 0)::jsonb - 'portfolio' - 'job_titles' - 'segments',
	jsonb_build_object('location', E'Ha "Noi" \\', 'events', '[]'::jsonb),
	'fields: the location escaped, no events asked for: none');
SELECT is((SELECT fields::jsonb ->> 'location' FROM leo_enrich_fields_of(ARRAY['P1', 'P2', 'nobody'], 1)),
	E'Ha "Noi" \\', 'fields_of: one row per profile found');
RESET app.current_tenant_id;
RESET ROLE;

SELECT * FROM finish();
