-- leo_deliver_record_many (schema/46_deliver.sql): a batch of records in
-- one call, as the sender makes it (leo_sender, app.current_tenant_id set):
-- every outcome's move and attempt row, the claims released, a lost claim
-- left out with nothing written, another tenant's ids untouched, refused
-- input, and the role's privilege.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir fixture.inc

SELECT no_plan();

\set A '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set B '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

-- Start clean: six queued deliveries of A (m1..m6), one of B, none claimed.
ALTER TABLE delivery_attempt DISABLE TRIGGER delivery_attempt_append_only;
DELETE FROM delivery_attempt;
ALTER TABLE delivery_attempt ENABLE TRIGGER delivery_attempt_append_only;
DELETE FROM delivery_work;
INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key)
SELECT :A, 'P1', 'email', 'm' || g FROM generate_series(1, 6) g;
CREATE TEMP TABLE ids AS
SELECT idempotency_key AS k, delivery_id AS id FROM delivery_log;
GRANT SELECT ON ids TO PUBLIC;
\set M1 '(SELECT id FROM ids WHERE k = ''m1'')'
\set M2 '(SELECT id FROM ids WHERE k = ''m2'')'
\set M3 '(SELECT id FROM ids WHERE k = ''m3'')'
\set M4 '(SELECT id FROM ids WHERE k = ''m4'')'
\set M5 '(SELECT id FROM ids WHERE k = ''m5'')'
\set M6 '(SELECT id FROM ids WHERE k = ''m6'')'
\set DB '(SELECT delivery_id FROM delivery_log WHERE tenant_id = ' :B ')'

SELECT ok(has_function_privilege('leo_deliver', 'leo_deliver_record_many(text, bigint[], integer[], timestamptz[], timestamptz[], text[], integer[], text[], text[], timestamptz[], jsonb[])', 'EXECUTE'),
	'leo_deliver may record a batch');
SELECT ok(has_table_privilege('leo_deliver', 'delivery_work', 'DELETE'),
	'leo_deliver may delete work rows (a final outcome does)');
SELECT ok(NOT has_function_privilege('public', 'leo_deliver_record_many(text, bigint[], integer[], timestamptz[], timestamptz[], text[], integer[], text[], text[], timestamptz[], jsonb[])', 'EXECUTE'),
	'PUBLIC may not');

SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is((SELECT count(*) FROM leo_deliver_claim('s1', 60, 10)), 7::bigint,
	's1 claims A''s seven queued deliveries');
RESET ROLE;
-- m6's claim is lost: its lease ran out and s2 took it over
UPDATE delivery_work SET claimed_by = 's2' WHERE delivery_id = :M6;
SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';

-- one batch: m1 sent, m2 delivered, m3 retry, m4 failed after an attempt,
-- m5 failed without one (no attempt number), m6 lost, B's delivery (not
-- this tenant's: not found)
CREATE TEMP TABLE kept AS
SELECT leo_deliver_record_many('s1',
	ARRAY[:M1, :M2, :M3, :M4, :M5, :M6, :DB],
	ARRAY[1, 1, 1, 1, NULL, 1, 1],
	ARRAY[now() - interval '2 s', now() - interval '2 s', now() - interval '2 s',
	      now() - interval '2 s', now(), now(), now()],
	ARRAY[now(), now(), now(), now(), now(), now(), now()],
	ARRAY['sent', 'delivered', 'retry', 'failed', 'failed', 'sent', 'sent'],
	ARRAY[202, 200, 503, 400, NULL, 200, 200],
	ARRAY[NULL, NULL, 'HTTP 503', 'HTTP 400', 'consent_withdrawn', NULL, NULL],
	ARRAY['a "quoted", {braced} answer', NULL, 'busy', 'bad', NULL, NULL, NULL],
	ARRAY[NULL, NULL, now() + interval '1 hour', NULL, NULL, NULL, NULL]::timestamptz[],
	ARRAY['{"status": 202}', '{"status": 200}', NULL, '{"reason": "rejected"}',
	      '{"reason": "consent_withdrawn"}', '{"status": 200}', '{"status": 200}']::jsonb[]) AS ids;
SELECT set_eq('SELECT unnest(ids) FROM kept',
	format('VALUES (%s), (%s), (%s), (%s), (%s)', :M1, :M2, :M3, :M4, :M5),
	'the ids recorded: all but the lost claim and the other tenant''s');
SELECT results_eq($$SELECT d.idempotency_key, d.delivery_status::text, d.provider_response
		    FROM delivery_log d WHERE d.idempotency_key LIKE 'm%' ORDER BY 1$$,
	$$VALUES ('m1', 'sent', '{"status": 202}'::jsonb), ('m2', 'delivered', '{"status": 200}'),
		 ('m3', 'queued', NULL), ('m4', 'failed', '{"reason": "rejected"}'),
		 ('m5', 'failed', '{"reason": "consent_withdrawn"}'), ('m6', 'queued', NULL)$$,
	'every move, with the provider''s answer; the retry and the lost claim stay queued');
SELECT results_eq($$SELECT d.idempotency_key, a.attempt, a.outcome, a.status_code, a.error,
			   a.response, a.sender, a.ended_at - a.started_at
		    FROM delivery_attempt a JOIN delivery_log d USING (tenant_id, delivery_id)
		   ORDER BY 1$$,
	$$VALUES ('m1', 1, 'sent', 202, NULL, 'a "quoted", {braced} answer', 's1', interval '2 s'),
		 ('m2', 1, 'delivered', 200, NULL, NULL, 's1', interval '2 s'),
		 ('m3', 1, 'retry', 503, 'HTTP 503', 'busy', 's1', interval '2 s'),
		 ('m4', 1, 'failed', 400, 'HTTP 400', 'bad', 's1', interval '2 s')$$,
	'one attempt row per attempt made, none for m5 (nothing sent) nor the lost m6');
SELECT results_eq($$SELECT d.idempotency_key, w.attempts, w.claimed_by,
			   w.next_attempt_at > now() + interval '59 min'
		    FROM delivery_work w JOIN delivery_log d USING (tenant_id, delivery_id)
		   WHERE d.idempotency_key LIKE 'm%' ORDER BY 1$$,
	$$VALUES ('m3', 1, NULL::text, true), ('m6', 0, 's2', false)$$,
	'a final outcome deletes the work row; the retry counts its attempt, is released and due later; the lost claim untouched');
SELECT is((SELECT count(*) FROM leo_deliver_claim('s1', 60, 10)), 0::bigint,
	'nothing is claimable: the retry is not due, m6 is s2''s');
SELECT is(leo_deliver_record_many('s1', ARRAY[:M1], ARRAY[2], ARRAY[now()], ARRAY[now()],
	ARRAY['sent'], ARRAY[200], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL]::timestamptz[],
	ARRAY[NULL]::jsonb[]), '{}'::bigint[], 'a delivery not claimed: refused, nothing recorded');
SELECT is(leo_deliver_record_many('s1', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
	'{}'::bigint[], 'an empty batch');
SELECT throws_ok($$SELECT leo_deliver_record_many('s2', ARRAY[1::bigint], ARRAY[1], ARRAY[now()],
	ARRAY[now()], ARRAY['bogus'], ARRAY[200], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL]::timestamptz[],
	ARRAY[NULL]::jsonb[])$$, '22023', NULL, 'an unknown outcome is refused');
SELECT throws_ok($$SELECT leo_deliver_record_many('s2', ARRAY[1::bigint, 2], ARRAY[1], ARRAY[now()],
	ARRAY[now()], ARRAY['sent'], ARRAY[200], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL]::timestamptz[],
	ARRAY[NULL]::jsonb[])$$, '22023', NULL, 'arrays of different lengths are refused');
SELECT is((SELECT count(*) FROM delivery_attempt), 4::bigint, '... and write nothing');
RESET ROLE;
SELECT is((SELECT delivery_status::text FROM delivery_log WHERE tenant_id = :B), 'queued',
	'B''s delivery untouched');

-- The work rows of one tenant are deleted only under that tenant.
SET ROLE leo_sender;
SET app.current_tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
DELETE FROM delivery_work;
SET app.current_tenant_id = '';
DELETE FROM delivery_work;
RESET ROLE;
SELECT is((SELECT count(*) FROM delivery_work WHERE tenant_id = :A), 3::bigint,
	'A''s work rows cannot be deleted under B nor with no tenant set');
SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
DELETE FROM delivery_work WHERE delivery_id = :M3;
RESET ROLE;
SELECT is((SELECT count(*) FROM delivery_work WHERE tenant_id = :A), 2::bigint,
	'... and can under A');

SELECT * FROM finish();
