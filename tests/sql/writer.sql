-- leo_write_firings() (schema/45_writer.sql), called as the daemon calls it:
-- as leo_daemon, with app.current_tenant_id set.  Consent granted, revoked,
-- expired, missing; the consent evidence copied; the news window (newest
-- wins, another symbol ignored, exactly 24 hours before is outside, the
-- firing instant inside); the flood pause and the trigger modes; a deleted
-- rule; an idempotent re-run; tenant isolation.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir fixture.inc

SELECT no_plan();

\set A '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set B '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''
\set T '''2026-06-01 12:00:00+00'''

INSERT INTO cdp_profiles (tenant_id, profile_id)
SELECT :A, p FROM unnest('{P2,P3,P4,P5,P6,P7}'::text[]) AS p;
INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis, source,
				granted_at, revoked_at, expires_at) VALUES
	(:A, 'P2', 'email', 'revoked', 'consent', 'web', '2026-01-01', '2026-02-01', NULL),
	(:A, 'P3', 'email', 'granted', 'consent', 'web', '2026-01-01', NULL, now() - interval '1 minute'),
	(:A, 'P5', 'email', 'granted', 'contract', 'crm import', '2026-03-04 05:06:07+00', NULL,
	 now() + interval '1 day'),
	(:A, 'P6', 'email', 'granted', 'consent', 'web', '2026-01-01', NULL, NULL),
	(:A, 'P7', 'email', 'granted', 'consent', 'web', '2026-01-01', NULL, NULL);

-- The rules, by name; `gone` names a rule id that does not exist.
CREATE TEMP TABLE rid (name text PRIMARY KEY, id text NOT NULL);
GRANT SELECT ON rid TO PUBLIC;
WITH r (name, tenant, profile, v, mode) AS (VALUES
	('granted', :A, 'P1', 101, 'ONCE'), ('revoked', :A, 'P2', 102, 'ONCE'),
	('expired', :A, 'P3', 103, 'ONCE'), ('missing', :A, 'P4', 104, 'ONCE'),
	('future', :A, 'P5', 105, 'ONCE'), ('flood', :A, 'P6', 106, 'REARM'),
	('rearm', :A, 'P7', 107, 'REARM'), ('edge', :A, 'P1', 108, 'ONCE'),
	('at', :A, 'P1', 109, 'ONCE'), ('b', :B, 'P1', 110, 'ONCE'),
	('span1', :A, 'P1', 111, 'ONCE'), ('span2', :A, 'P1', 112, 'ONCE'),
	('span3', :A, 'P1', 113, 'ONCE'), ('hot', :A, 'P1', 114, 'ONCE')
), ins AS (
	INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
	SELECT tenant::uuid, profile, CASE WHEN name IN ('edge', 'at') THEN 'EDGE'
			    WHEN name LIKE 'span%' THEN 'SPAN' ELSE 'AAPL' END,
	       jsonb_build_object('operator', '>', 'value', v),
	       mode::trigger_mode FROM r
	RETURNING rule_id, profile_id, condition_logic
)
INSERT INTO rid SELECT r.name, ins.rule_id FROM r JOIN ins
	ON ins.condition_logic = jsonb_build_object('operator', '>', 'value', r.v);
INSERT INTO rid VALUES ('gone', repeat('d', 64));

-- News on AAPL around T: the newest before T wins; MSFT's is another
-- symbol's; one is exactly 24 hours before T; one is published 1 s after T.
INSERT INTO news_feed (headline, related_symbols, published_at) VALUES
	('newest', '{AAPL,MSFT}', timestamptz :T - interval '1 hour'),
	('older', '{AAPL}', timestamptz :T - interval '23 hours'),
	('edge', '{AAPL}', timestamptz :T - interval '24 hours'),
	('other symbol', '{MSFT}', timestamptz :T - interval '1 minute'),
	('later', '{AAPL}', timestamptz :T + interval '1 second'),
	('edge only', '{EDGE}', timestamptz :T - interval '24 hours'),
	('span old', '{SPAN}', timestamptz :T - interval '2 hours'),
	('span old too', '{SPAN}', timestamptz :T - interval '2 hours'),
	('span mid', '{SPAN}', timestamptz :T + interval '1 hour'),
	('span mid too', '{SPAN}', timestamptz :T + interval '1 hour');
CREATE TEMP TABLE news AS SELECT headline, news_id FROM news_feed;
GRANT SELECT ON news TO PUBLIC;

-- Fire the named rules at one instant: seq, kind per rule; prices fixed.
CREATE FUNCTION pg_temp.fire(names text[], seqs bigint[], kinds text[], at timestamptz)
RETURNS TABLE (name text, claimed boolean, reason text, delivered boolean, tasked boolean,
	delivery_id bigint)
LANGUAGE sql AS $$
	SELECT u.n, w.claimed, w.reason, w.delivered, w.tasked, w.delivery_id
	  FROM leo_write_firings(current_setting('app.current_tenant_id')::uuid,
		(SELECT array_agg(i::int ORDER BY i) FROM generate_subscripts(names, 1) AS i),
		(SELECT array_agg(r.id ORDER BY i) FROM unnest(names) WITH ORDINALITY AS x(n, i)
		   JOIN rid r ON r.name = x.n),
		seqs,
		array_fill((extract(epoch FROM at) * 1000000)::bigint, ARRAY[cardinality(names)]),
		kinds,
		array_fill(149.5::numeric, ARRAY[cardinality(names)]),
		array_fill(151.25::numeric, ARRAY[cardinality(names)]),
		array_fill(NULL::numeric, ARRAY[cardinality(names)]),
		array_fill(1.5::numeric, ARRAY[cardinality(names)])) AS w
	  JOIN unnest(names) WITH ORDINALITY AS u(n, i) ON u.i = w.ord
	 ORDER BY w.ord
$$;

SET ROLE leo_daemon;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
CREATE TEMP TABLE out1 AS SELECT * FROM pg_temp.fire(
	'{granted,revoked,expired,missing,future,flood,rearm,gone}',
	'{1,1,1,1,1,1,1,1}', '{F,F,F,F,F,P,F,F}', timestamptz :T);
RESET ROLE;

SELECT results_eq($$SELECT name, claimed, reason, delivered, tasked FROM out1$$,
	$$VALUES ('granted', true, NULL, true, true), ('revoked', true, 'consent_revoked', false, true),
		 ('expired', true, 'consent_expired', false, true),
		 ('missing', true, 'consent_missing', false, true), ('future', true, NULL, true, true),
		 ('flood', true, 'flood_guard', false, true), ('rearm', true, NULL, true, true),
		 ('gone', true, 'rule_deleted', false, true)$$,
	'one outcome per firing, in order: claimed, reason, delivery and task written');
-- delivery_id names the row written (what the daemon announces), NULL when none
SELECT results_eq($$SELECT o.name, o.delivery_id IS NOT NULL,
			   o.delivery_id IS NOT DISTINCT FROM (SELECT d.delivery_id FROM delivery_log d
			     JOIN rid r ON r.id = d.rule_id WHERE r.name = o.name
			      AND d.idempotency_key = r.id || ':1')
		      FROM out1 o ORDER BY o.name$$,
	$$VALUES ('expired', false, true), ('flood', false, true), ('future', true, true),
		 ('gone', false, true), ('granted', true, true), ('missing', false, true),
		 ('rearm', true, true), ('revoked', false, true)$$,
	'delivery_id: the delivery_log row of each delivered firing, NULL otherwise');

-- delivery_log: the consenting firings only, keyed <rule>:<seq>, queued,
-- with the consent's evidence.
SELECT results_eq($$SELECT r.name, d.delivery_status::text, d.idempotency_key = r.id || ':1',
			   d.consent_legal_basis::text, d.consent_source, d.consent_granted_at
		      FROM delivery_log d JOIN rid r ON r.id = d.rule_id
		     WHERE d.idempotency_key <> d.rule_id || ':1' OR r.name <> 'b'
		     ORDER BY r.name$$,
	$$VALUES ('future', 'queued', true, 'contract', 'crm import', timestamptz '2026-03-04 05:06:07+00'),
		 ('granted', 'queued', true, 'consent', 'signup form',
		  (SELECT granted_at FROM consent_management WHERE tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa' AND profile_id = 'P1')),
		 ('rearm', 'queued', true, 'consent', 'web', timestamptz '2026-01-01')$$,
	'delivery_log: granted consent only, with legal basis, source and grant time copied');

-- agent_task: one per firing, its trace's decision, the consent step.
SELECT results_eq($$SELECT r.name, t.reasoning_trace -> 2 ->> 'action', t.reasoning_trace -> 2 ->> 'reason',
			   t.reasoning_trace -> 1 ->> 'result'
		      FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
		     WHERE r.name <> 'gone' ORDER BY r.name$$,
	$$VALUES ('expired', 'suppress', 'consent_expired', 'expired'),
		 ('flood', 'pause', 'flood_guard', 'granted'),
		 ('future', 'deliver', NULL, 'granted'), ('granted', 'deliver', NULL, 'granted'),
		 ('missing', 'suppress', 'consent_missing', 'missing'),
		 ('rearm', 'deliver', NULL, 'granted'),
		 ('revoked', 'suppress', 'consent_revoked', 'revoked')$$,
	'agent_task: the decision and the consent result of each firing');
SELECT is((SELECT reasoning_trace -> 0 -> 'observed' FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
	    WHERE r.name = 'granted'),
	  '{"price": 151.25, "change_percent": 1.5}'::jsonb, 'the trace holds the observed price');
SELECT is((SELECT reasoning_trace -> 0 ->> 'fired_at' FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
	    WHERE r.name = 'granted')::timestamptz,
	  timestamptz :T, 'the trace holds the firing time');
SELECT matches((SELECT reasoning_summary FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
		WHERE r.name = 'granted'),
	       '^AAPL at 151\.25 \(previously 149\.5\) matched rule [0-9a-f]{12} for profile P1; email consent is granted \(consent\), so the alert was queued\.$',
	       'summary of a delivered firing');
SELECT matches((SELECT reasoning_summary FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
		WHERE r.name = 'expired'),
	       '; email consent expired at 20[0-9-]+ [0-9:.+]+, so nothing was sent\.$',
	       'summary of an expired consent names the expiry (leo_reason.summary)');
SELECT matches((SELECT reasoning_summary FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
		WHERE r.name = 'missing'),
	       '; there is no email consent on record, so nothing was sent\.$', 'summary of a missing consent');
SELECT is((SELECT reasoning_summary FROM agent_task WHERE task_id = repeat('d', 64) || ':1'),
	  'Rule dddddddddddd matched at 151.25 but was deleted before the alert was written; nothing was sent.',
	  'a deleted rule''s firing: its agent_task says so');
SELECT is((SELECT reasoning_trace -> 1 ->> 'reason' FROM agent_task WHERE task_id = repeat('d', 64) || ':1'),
	  'rule_deleted', 'a deleted rule''s trace: reason rule_deleted');
SELECT is_empty($$SELECT 1 FROM delivery_log WHERE rule_id = repeat('d', 64)$$,
		'a deleted rule''s firing: no delivery');
SELECT set_eq($$SELECT DISTINCT coalesce(t.reasoning_trace -> 2 ->> 'reason', t.reasoning_trace -> 1 ->> 'reason')
		 FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'$$,
	      $$SELECT code FROM leo_reason WHERE written UNION ALL SELECT NULL$$,
	      'every reason a trace gives is a leo_reason code (and each written code occurs)');

-- News: the newest AAPL item of the 24 hours up to the firing.
SELECT is((SELECT n.headline FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
	   JOIN news n ON n.news_id = t.related_news_id WHERE r.name = 'granted'),
	  'newest', 'news: the newest item on the symbol wins, later and other symbols ignored');

-- The rules: a ONCE rule is TRIGGERED, a REARM rule stays ACTIVE, the flood
-- pause PAUSES; each holds its count and the firing time.
SELECT results_eq($$SELECT r.name, a.status::text, a.trigger_count, a.last_triggered_at
		      FROM alert_rules a JOIN rid r ON r.id = a.rule_id
		     WHERE r.name IN ('granted', 'flood', 'rearm', 'missing') ORDER BY r.name$$,
	$$VALUES ('flood', 'PAUSED', 1::bigint, timestamptz '2026-06-01 12:00:00+00'),
		 ('granted', 'TRIGGERED', 1::bigint, timestamptz '2026-06-01 12:00:00+00'),
		 ('missing', 'TRIGGERED', 1::bigint, timestamptz '2026-06-01 12:00:00+00'),
		 ('rearm', 'ACTIVE', 1::bigint, timestamptz '2026-06-01 12:00:00+00')$$,
	'alert_rules: status by trigger mode and flood pause, count and firing time');

-- The same call again: nothing is claimed and nothing is written.
CREATE TEMP TABLE counts AS
SELECT (SELECT count(*) FROM delivery_log) AS d, (SELECT count(*) FROM agent_task) AS t;
SET ROLE leo_daemon;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
CREATE TEMP TABLE out2 AS SELECT * FROM pg_temp.fire(
	'{granted,revoked,expired,missing,future,flood,rearm,gone}',
	'{1,1,1,1,1,1,1,1}', '{F,F,F,F,F,P,F,F}', timestamptz :T);
-- a firing whose seq skips one is not claimed either
CREATE TEMP TABLE out3 AS SELECT * FROM pg_temp.fire('{rearm}', '{3}', '{F}', timestamptz :T);
RESET ROLE;
SELECT results_eq($$SELECT DISTINCT claimed, reason, delivered FROM out2$$,
		  $$VALUES (false, 'already_claimed', false)$$,
		  'a re-run: every firing already claimed, nothing delivered');
SELECT results_eq($$SELECT (SELECT count(*) FROM delivery_log), (SELECT count(*) FROM agent_task)$$,
		  $$SELECT d, t FROM counts$$, 'a re-run writes no row');
SELECT results_eq($$SELECT claimed, reason FROM out3$$, $$VALUES (false, 'already_claimed')$$,
		  'seq 3 after seq 1: not claimed');
SELECT is((SELECT trigger_count FROM alert_rules a JOIN rid r ON r.id = a.rule_id WHERE r.name = 'rearm'),
	  1::bigint, 'the skipped seq left the count alone');

-- The news window's edges, on symbol EDGE whose only item was published
-- 24 hours before T: fired at T, it is exactly 24 hours old and outside;
-- fired at the instant it was published, it is inside.
SET ROLE leo_daemon;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT * FROM pg_temp.fire('{edge}', '{1}', '{F}', timestamptz :T);
SELECT * FROM pg_temp.fire('{at}', '{1}', '{F}', timestamptz :T - interval '24 hours');
RESET ROLE;
SELECT is((SELECT t.related_news_id FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
	   WHERE r.name = 'edge'),
	  NULL, 'news: an item exactly 24 hours before the firing is outside the window');
SELECT is((SELECT n.headline FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
	   JOIN news n ON n.news_id = t.related_news_id WHERE r.name = 'at'),
	  'edge only', 'news: an item published at the firing instant is inside the window');
-- One batch, one symbol, firings hours apart (news is looked up once per
-- symbol of a batch): each firing still gets the newest item of its own
-- 24 hours, ties broken by the higher news_id.
SET ROLE leo_daemon;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT * FROM leo_write_firings('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', '{1,2,3}',
	ARRAY[(SELECT id FROM rid WHERE name = 'span1'), (SELECT id FROM rid WHERE name = 'span2'),
	      (SELECT id FROM rid WHERE name = 'span3')],
	'{1,1,1}',
	ARRAY[(extract(epoch FROM timestamptz :T) * 1000000)::bigint,
	      (extract(epoch FROM timestamptz :T + interval '2 hours') * 1000000)::bigint,
	      (extract(epoch FROM timestamptz :T + interval '23 hours') * 1000000)::bigint],
	'{F,F,F}', '{1,1,1}', '{2,2,2}', '{NULL,NULL,NULL}', '{NULL,NULL,NULL}');
RESET ROLE;
SELECT results_eq($$SELECT r.name, n.headline FROM agent_task t JOIN rid r ON t.task_id = r.id || ':1'
		      LEFT JOIN news n ON n.news_id = t.related_news_id
		     WHERE r.name LIKE 'span%' ORDER BY r.name$$,
	$$VALUES ('span1', 'span old too'), ('span2', 'span mid too'), ('span3', 'span mid too')$$,
	'news in one batch: each firing its own newest item; equal times, the higher id');
UPDATE news_feed SET published_at = timestamptz :T - interval '3 days';
SET ROLE leo_daemon;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT * FROM pg_temp.fire('{rearm}', '{2}', '{F}', timestamptz :T);
RESET ROLE;
SELECT is((SELECT related_news_id FROM agent_task t JOIN rid r ON t.task_id = r.id || ':2'
	   WHERE r.name = 'rearm'), NULL, 'news: none in the window, none linked');

-- Tenant isolation: as A, B's rule is not there to claim, and A cannot
-- write under B's id.
SET ROLE leo_daemon;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
CREATE TEMP TABLE out4 AS SELECT * FROM pg_temp.fire('{b}', '{1}', '{F}', timestamptz :T);
SELECT throws_ok($$SELECT * FROM leo_write_firings('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb',
		  '{1}', ARRAY[repeat('e', 64)], '{1}', '{0}', '{F}', '{1}', '{1}', '{NULL}', '{NULL}')$$,
		 '42501', NULL, 'as A, a call for tenant B is refused by row-level security');
RESET ROLE;
SELECT results_eq($$SELECT a.trigger_count, a.status::text FROM alert_rules a JOIN rid r ON r.id = a.rule_id
		     WHERE r.name = 'b'$$, $$VALUES (0::bigint, 'ACTIVE')$$,
		  'as A, B''s rule is neither claimed nor changed');
SELECT is_empty($$SELECT 1 FROM delivery_log d JOIN rid r ON r.id = d.rule_id
		  WHERE r.name = 'b' AND d.idempotency_key <> r.id || ':1'$$,
		'as A, nothing delivered for B''s rule');
SELECT is_empty($$SELECT 1 FROM agent_task WHERE tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'
		  AND task_id NOT IN (SELECT rule_id || ':1' FROM alert_rules)$$,
		'as A, no agent_task row of B written');
-- A claim is a HOT update, ONCE's move from ACTIVE to TRIGGERED included:
-- it writes no index entry (60_indexes.sql), which a storm pays per firing.
BEGIN;
SET LOCAL ROLE leo_daemon;
SET LOCAL app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
-- (the xact counters may still hold earlier transactions' counts: the
-- difference is this claim's)
CREATE TEMP TABLE hot AS
SELECT pg_stat_get_xact_tuples_updated('alert_rules'::regclass) AS updated,
       pg_stat_get_xact_tuples_hot_updated('alert_rules'::regclass) AS hot;
CREATE TEMP TABLE out5 AS SELECT * FROM pg_temp.fire('{hot}', '{1}', '{F}', timestamptz :T);
UPDATE hot SET updated = pg_stat_get_xact_tuples_updated('alert_rules'::regclass) - updated,
	       hot = pg_stat_get_xact_tuples_hot_updated('alert_rules'::regclass) - hot;
COMMIT;
SELECT results_eq($$SELECT o.claimed, a.status::text, h.updated, h.hot FROM out5 o, hot h,
		     alert_rules a JOIN rid r ON r.id = a.rule_id WHERE r.name = 'hot'$$,
		  $$VALUES (true, 'TRIGGERED', 1::bigint, 1::bigint)$$,
		  'a ONCE claim (ACTIVE -> TRIGGERED) is one HOT update of alert_rules');

SELECT ok(NOT has_function_privilege('public', 'leo_write_firings(uuid, integer[], text[], bigint[], bigint[], text[], numeric[], numeric[], numeric[], numeric[])', 'EXECUTE'),
	  'PUBLIC may not run leo_write_firings()');

SELECT * FROM finish();
