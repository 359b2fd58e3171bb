-- What the schema enforces on its trails: delivery_log is append-only with a
-- forward-only delivery_status, agent_task and behavioral_events rows never
-- change, segment_snapshots only grows at its end, and updated_at follows
-- every update of every mutable table.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir fixture.inc

SELECT no_plan();

-- delivery_log: forward-only status.
INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key)
SELECT 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'sms', k
FROM unnest('{d1,d2,d3,d4}'::text[]) AS k;
SELECT is((SELECT delivery_status::text FROM delivery_log WHERE idempotency_key = 'd1'), 'queued',
	  'a new delivery is queued');

CREATE FUNCTION pg_temp.step(k text, s text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	UPDATE delivery_log SET delivery_status = s::delivery_status WHERE idempotency_key = k;
	RETURN 'ok';
EXCEPTION WHEN integrity_constraint_violation THEN
	RETURN 'refused';
END
$$;
SELECT is(pg_temp.step(k, s), expect, k || ': ' || s || ' ' || expect)
FROM (VALUES (1, 'd1', 'queued', 'ok'),	-- no change at all is fine
	     (2, 'd1', 'delivered', 'refused'),
	     (3, 'd1', 'sent', 'ok'),
	     (4, 'd1', 'queued', 'refused'),
	     (5, 'd1', 'delivered', 'ok'),
	     (6, 'd1', 'failed', 'refused'),
	     (7, 'd1', 'sent', 'refused'),
	     (8, 'd1', 'queued', 'refused'),
	     (9, 'd2', 'failed', 'ok'),
	     (10, 'd2', 'queued', 'refused'),
	     (11, 'd2', 'sent', 'refused'),
	     (12, 'd2', 'delivered', 'refused'),
	     (13, 'd3', 'sent', 'ok'),
	     (14, 'd3', 'failed', 'ok'),
	     (15, 'd3', 'delivered', 'refused')) AS v(o, k, s, expect)
ORDER BY o;
SELECT results_eq($$SELECT idempotency_key || ' ' || delivery_status FROM delivery_log
		    WHERE idempotency_key LIKE 'd_' ORDER BY 1$$,
		  ARRAY['d1 delivered', 'd2 failed', 'd3 failed', 'd4 queued'], 'the final states');

SELECT throws_ok($$UPDATE delivery_log SET provider_response = '{"id": 1}' WHERE idempotency_key = 'd4'$$,
		 '23000', 'delivery_log: provider_response may change only together with delivery_status',
		 'provider_response alone cannot change');
SELECT lives_ok($$UPDATE delivery_log SET delivery_status = 'sent', provider_response = '{"id": 1}'
		  WHERE idempotency_key = 'd4'$$, 'provider_response changes with delivery_status');
SELECT is((SELECT provider_response FROM delivery_log WHERE idempotency_key = 'd4'), '{"id": 1}'::jsonb,
	  'provider_response stored');
SELECT throws_ok(q, '23000', 'delivery_log is append-only: only delivery_status (with provider_response) may change',
		 'delivery_log: no change of ' || col)
FROM (VALUES ('tenant_id', $$UPDATE delivery_log SET tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb' WHERE idempotency_key = 'd4'$$),
	     ('channel', $$UPDATE delivery_log SET channel = 'email' WHERE idempotency_key = 'd4'$$),
	     ('idempotency_key', $$UPDATE delivery_log SET idempotency_key = 'd5' WHERE idempotency_key = 'd4'$$),
	     ('created_at', $$UPDATE delivery_log SET created_at = now() - interval '1 day' WHERE idempotency_key = 'd4'$$),
	     ('consent evidence', $$UPDATE delivery_log SET consent_legal_basis = 'contract' WHERE idempotency_key = 'd4'$$),
	     ('status and a column', $$UPDATE delivery_log SET delivery_status = 'delivered', rule_id = 'x' WHERE idempotency_key = 'd4'$$)
) AS v(col, q);
SELECT throws_ok($$DELETE FROM delivery_log WHERE idempotency_key = 'd1'$$, '23000',
		 'delivery_log is append-only: DELETE is not allowed', 'delivery_log: no DELETE');
SELECT throws_ok($$TRUNCATE delivery_log$$, '23000', 'delivery_log is append-only: TRUNCATE is not allowed',
		 'delivery_log: no TRUNCATE');
SELECT throws_ok($$INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key)
		   VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'sms', 'd1')$$,
		 '23505', NULL, 'idempotency_key is unique');
CREATE FUNCTION pg_temp.affected(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	n int;
BEGIN
	EXECUTE q;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
SELECT is(pg_temp.affected($$INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key)
			     VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'sms', 'd1')
			     ON CONFLICT (idempotency_key) DO NOTHING$$), 0,
	  'ON CONFLICT (idempotency_key) DO NOTHING writes a key once');

-- agent_task: never changed, never deleted.
SELECT throws_ok($$UPDATE agent_task SET reasoning_summary = 'edited'$$, '23000',
		 'agent_task is append-only: UPDATE is not allowed', 'agent_task: no UPDATE');
SELECT throws_ok($$DELETE FROM agent_task$$, '23000',
		 'agent_task is append-only: DELETE is not allowed', 'agent_task: no DELETE');
SELECT throws_ok($$TRUNCATE agent_task$$, '23000',
		 'agent_task is append-only: TRUNCATE is not allowed', 'agent_task: no TRUNCATE');
SELECT is(pg_temp.affected($$INSERT INTO agent_task (task_id, tenant_id, reasoning_trace, reasoning_summary)
			     SELECT task_id, tenant_id, '[]', 'again' FROM agent_task
			     ON CONFLICT (task_id) DO NOTHING$$), 0,
	  'ON CONFLICT (task_id) DO NOTHING writes a task once');
SELECT is((SELECT count(*)::int FROM agent_task), 2, 'agent_task rows intact');

-- behavioral_events: never changed.
SELECT throws_like($$UPDATE behavioral_events SET sentiment_val = 1$$,
		   '% is append-only: UPDATE is not allowed', 'behavioral_events: no UPDATE');

-- segment_snapshots: append at the end only.
CREATE FUNCTION pg_temp.snap(v text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	UPDATE cdp_profiles SET segment_snapshots = v::jsonb
	WHERE tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
	RETURN 'ok';
EXCEPTION WHEN integrity_constraint_violation THEN
	RETURN 'refused';
END
$$;
SELECT is(pg_temp.snap(v), expect, what)
FROM (VALUES (1, '[{"at": "2026-01-01", "segments": ["new"]}]', 'ok', 'unchanged snapshots'),
	     (2, '[{"at": "2026-01-01", "segments": ["new"]}, {"at": "2026-02-01", "segments": ["vip"]}]', 'ok', 'one appended'),
	     (3, '[{"at": "2026-01-01", "segments": ["new"]}]', 'refused', 'the last removed'),
	     (4, '[]', 'refused', 'all removed'),
	     (5, '[{"at": "2026-02-01", "segments": ["vip"]}, {"at": "2026-01-01", "segments": ["new"]}]', 'refused', 'reordered (a superset is not enough)'),
	     (6, '[{"at": "2026-01-01", "segments": ["old"]}, {"at": "2026-02-01", "segments": ["vip"]}]', 'refused', 'an entry changed'),
	     (7, '[{"at": "2026-01-01", "segments": ["new"]}, {"at": "2026-02-01", "segments": ["vip"]}, {"at": "2026-03-01", "segments": []}]', 'ok', 'another appended'),
	     (8, '{"at": "2026-01-01"}', 'refused', 'replaced by an object')) AS v(o, v, expect, what)
ORDER BY o;
SELECT is((SELECT jsonb_array_length(segment_snapshots) FROM cdp_profiles
	   WHERE tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'), 3, 'three snapshots kept');
SELECT lives_ok($$UPDATE cdp_profiles SET segments = '["vip"]'$$, 'other columns change freely');

-- updated_at: every table that has it has the trigger, and it works.
SELECT set_eq($$SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
		  AND NOT c.relispartition AND a.attname = 'updated_at'$$,
	      $$SELECT c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_proc p ON p.oid = t.tgfoid
		WHERE p.proname = 'update_timestamp' AND NOT c.relispartition$$,
	      'update_timestamp() on every table with updated_at');
SELECT set_eq($$SELECT c.relname::text FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
		  AND NOT c.relispartition
		  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'updated_at')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
				  AND d.objid = c.oid AND d.deptype = 'e')$$,
	      ARRAY['agent_task', 'behavioral_events', 'leo_txn_tenant', 'leo_reason', 'delivery_attempt'],
	      'only the immutable tables, the tenant guard''s state (70_rls.sql) and the schema''s reason codes (45_writer.sql) lack updated_at');
SELECT cmp_ok(pg_temp.affected(format('UPDATE %I SET updated_at = %L', t, '2000-01-01')), '>', 0,
	      t || ': rows updated with updated_at = 2000-01-01')
FROM unnest('{tenant,cdp_profiles,campaign,marketing_event,message_templates,instruments,market_snapshot,alert_rules,news_feed,delivery_log,consent_management,embedding_job}'::text[]) AS t;
CREATE FUNCTION pg_temp.scalar(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE q INTO r;
	RETURN r;
END
$$;
SELECT is(pg_temp.scalar(format('SELECT bool_and(updated_at > %L) FROM %I', '2000-01-02', t)), 'true',
	  t || ': update_timestamp() sets updated_at whatever the UPDATE says')
FROM unnest('{tenant,cdp_profiles,campaign,marketing_event,message_templates,instruments,market_snapshot,alert_rules,news_feed,delivery_log,consent_management,embedding_job}'::text[]) AS t;

-- The daemon's own claims (leo.writer = on) set updated_at themselves; the
-- trigger's WHEN clause keeps update_timestamp() out of them.
BEGIN;
SELECT set_config('leo.writer', 'on', true) \g /dev/null
UPDATE alert_rules SET trigger_count = trigger_count + 1, updated_at = '2000-01-01';
SELECT is(pg_temp.scalar('SELECT bool_and(updated_at = ''2000-01-01'') FROM alert_rules'), 'true',
	  'alert_rules: an UPDATE under leo.writer = on does not call update_timestamp()');
COMMIT;
UPDATE alert_rules SET trigger_count = trigger_count + 1;
SELECT is(pg_temp.scalar('SELECT bool_and(updated_at > ''2000-01-02'') FROM alert_rules'), 'true',
	  'alert_rules: leo.writer was local to that transaction');

SELECT * FROM finish();
