-- The sender's schema functions (schema/46_deliver.sql), called as the
-- sender calls them: as leo_sender (a member of leo_deliver), with
-- app.current_tenant_id set.  Claims and leases between two owners, the
-- re-check of consent, the address per channel, the template of the rule's
-- channel, the message context, every outcome of a record, a lost claim,
-- release, receipts, the backlog, tenant isolation, the role's limits.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir fixture.inc

SELECT no_plan();

\set A '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set B '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

-- This file's deliveries start unclaimed, with no attempt made.
ALTER TABLE delivery_attempt DISABLE TRIGGER delivery_attempt_append_only;
DELETE FROM delivery_attempt;
ALTER TABLE delivery_attempt ENABLE TRIGGER delivery_attempt_append_only;
DELETE FROM delivery_work;

-- A's fixture delivery (email, consent granted) gets an address, a rule
-- template of its channel, a match step and news.
UPDATE cdp_profiles SET primary_email = 'p1@example.com', job_titles = '["trader"]'
 WHERE tenant_id = :A;
INSERT INTO message_templates (tenant_id, template_id, channel, body_template) VALUES
	(:A, '11111111-1111-1111-1111-111111111111', 'sms', 'sms {{ x }}');
UPDATE alert_rules SET template_id = (SELECT template_id FROM message_templates
				      WHERE tenant_id = :A AND channel = 'email')
 WHERE tenant_id = :A;
CREATE TEMP TABLE ids AS
SELECT d.tenant_id, d.delivery_id FROM delivery_log d;
GRANT SELECT ON ids TO PUBLIC;
\set DA '(SELECT delivery_id FROM ids WHERE tenant_id = ' :A ')'
\set DB '(SELECT delivery_id FROM ids WHERE tenant_id = ' :B ')'

SELECT is(leo_condition_text('{"operator": "crosses_above", "value": 150.5}'),
	'price crosses above 150.5', 'condition text: a leaf');
SELECT is(leo_condition_text('{"all": [{"operator": ">", "value": 1}, {"not": {"field": "change_percent", "operator": "between", "low": -1, "high": 2}}]}'),
	'all of (price > 1, not (change_percent between -1 and 2))', 'condition text: composites');
SELECT is(leo_deliver_address('email', 'a@x.org', '["email:b@x.org"]'), 'a@x.org',
	'email: primary_email first');
SELECT is(leo_deliver_address('email', NULL, '["crm:1", "email:b@x.org"]'), 'b@x.org',
	'email: else an email: identity');
SELECT is(leo_deliver_address('sms', 'a@x.org', '["phone:+8490"]'), '+8490', 'sms: phone:');
SELECT is(leo_deliver_address('whatsapp', NULL, '["phone:+8491"]'), '+8491', 'whatsapp: phone:');
SELECT is(leo_deliver_address('zalo_oa', NULL, '["zalo:z1"]'), 'z1', 'zalo_oa: zalo:');
SELECT is(leo_deliver_address('web_push', NULL, '["webpush:https://p/1"]'), 'https://p/1',
	'web_push: webpush:');
SELECT is(leo_deliver_address('sms', 'a@x.org', '["email:b@x.org", "phone:"]'), NULL,
	'no address');

SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
CREATE TEMP TABLE c1 AS SELECT * FROM leo_deliver_claim('s1', 60, 10);
SELECT is((SELECT count(*) FROM c1), 1::bigint, 's1 claims A''s queued delivery');
SELECT results_eq($$SELECT delivery_id, channel::text, attempt, consent_ok, address,
			   template_engine, body_template FROM c1$$,
	format($$VALUES (%s::bigint, 'email', 1, true, 'p1@example.com', 'jinja2',
			 'Hello {{ name }}')$$, :DA),
	'attempt 1, consent re-checked, address, the template of the rule''s channel');
SELECT is((SELECT context #>> '{rule,condition}' FROM c1), 'price > 150.1', 'context: rule.condition');
SELECT is((SELECT context #>> '{tenant,tenant_name}' FROM c1), 'A', 'context: tenant');
SELECT is((SELECT context ->> 'summary' FROM c1), 'fired', 'context: summary');
SELECT is((SELECT context #> '{profile,job_titles}' FROM c1), '["trader"]'::jsonb, 'context: profile');
SELECT ok((SELECT NOT context ? 'news' FROM c1), 'context: no news key without related news');
SELECT is((SELECT count(*) FROM leo_deliver_claim('s2', 60, 10)), 0::bigint,
	'a held claim is not claimed by another sender');
SELECT is(leo_deliver_record('s2', :DA, 1, now(), now(), 'sent', 200, NULL, 'ok', NULL, NULL),
	false, 'a record of a sender that does not hold the claim is refused');
RESET ROLE;
SELECT is((SELECT count(*) FROM delivery_attempt), 0::bigint, '... and writes nothing');
SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is(leo_deliver_release('s1', ARRAY[:DA]), 1, 'release');
SELECT is((SELECT count(*) FROM leo_deliver_claim('s2', 60, 10)), 1::bigint,
	'a released claim is claimed by another sender');
SELECT is(leo_deliver_record('s2', :DA, 1, now() - interval '1 s', now(), 'retry', 503,
	'HTTP 503', 'busy', now() + interval '1 hour', NULL), true, 'record a retry');
SELECT is((SELECT delivery_status::text FROM delivery_log WHERE delivery_id = :DA), 'queued',
	'a retry stays queued');
SELECT is((SELECT count(*) FROM leo_deliver_claim('s1', 60, 10)), 0::bigint,
	'a retry is not claimed before it is due');
RESET ROLE;
UPDATE delivery_work SET next_attempt_at = now() - interval '1 s';
SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is((SELECT attempt FROM leo_deliver_claim('s1', 60, 10)), 2, 'due again: attempt 2');
SELECT is(leo_deliver_record('s1', :DA, 2, now(), now(), 'sent', 202, NULL, 'queued by provider',
	NULL, '{"status": 202}'), true, 'record sent');
SELECT results_eq(format($$SELECT delivery_status::text, provider_response FROM delivery_log
			    WHERE delivery_id = %s$$, :DA),
	$$VALUES ('sent', '{"status": 202}'::jsonb)$$, 'sent, with the provider''s answer');
SELECT results_eq($$SELECT attempt, outcome, status_code, error, response, sender
		    FROM delivery_attempt ORDER BY attempt$$,
	$$VALUES (1, 'retry', 503, 'HTTP 503', 'busy', 's2'), (2, 'sent', 202, NULL, 'queued by provider', 's1')$$,
	'one attempt row per attempt');
SELECT is((SELECT count(*) FROM leo_deliver_claim('s1', 60, 10)), 0::bigint,
	'a sent delivery is never claimed again');
SELECT is(leo_deliver_receipt(:DA, 'delivered', '{"event": "delivered"}'), 'ok', 'receipt: sent -> delivered');
SELECT is((SELECT delivery_status::text FROM delivery_log WHERE delivery_id = :DA), 'delivered',
	'... delivered');
SELECT is(leo_deliver_receipt(:DA, 'failed', NULL), 'conflict', 'receipt: delivered is final');
SELECT is(leo_deliver_receipt(:DB, 'delivered', NULL), 'unknown', 'receipt: another tenant''s delivery is unknown');
SELECT is(leo_deliver_receipt(999999, 'delivered', NULL), 'unknown', 'receipt: no such delivery');
SELECT throws_ok(format('UPDATE delivery_log SET profile_id = %L WHERE delivery_id = %s', 'x', :DA),
	'42501', NULL, 'the sender cannot change other columns of delivery_log');
SELECT throws_ok('DELETE FROM delivery_attempt', '42501', NULL, 'nor delete attempts');
SELECT throws_ok($$UPDATE delivery_attempt SET error = 'x'$$, '42501', NULL, 'nor change them');

-- B: its own delivery only; consent revoked shows; failed and delivered moves.
SET app.current_tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
SELECT is((SELECT count(*) FROM delivery_attempt), 0::bigint, 'B sees none of A''s attempts');
RESET ROLE;
UPDATE consent_management SET status = 'revoked', revoked_at = now() WHERE tenant_id = :B;
SET ROLE leo_sender;
SET app.current_tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
CREATE TEMP TABLE c2 AS SELECT * FROM leo_deliver_claim('s1', 60, 10, p_channel => 'sms');
SELECT is((SELECT count(*) FROM c2), 0::bigint, 'p_channel: another channel''s are not claimed');
INSERT INTO c2 SELECT * FROM leo_deliver_claim('s1', 60, 10, p_ids => ARRAY[:DA]);
SELECT is((SELECT count(*) FROM c2), 0::bigint, 'p_ids: A''s id claims nothing under B');
INSERT INTO c2 SELECT * FROM leo_deliver_claim('s1', 60, 10);
SELECT results_eq($$SELECT delivery_id, consent_ok, address, template_id FROM c2$$,
	format('VALUES (%s::bigint, false, NULL::text, NULL::uuid)', :DB),
	'B''s delivery: consent withdrawn since, no address, no template');
SELECT is(leo_deliver_record('s1', :DB, NULL, now(), now(), 'failed', NULL, 'consent_withdrawn',
	NULL, NULL, '{"reason": "consent_withdrawn"}'), true, 'record a failure without a send');
SELECT results_eq(format($$SELECT delivery_status::text, provider_response ->> 'reason'
			    FROM delivery_log WHERE delivery_id = %s$$, :DB),
	$$VALUES ('failed', 'consent_withdrawn')$$, 'failed, with the reason');
SELECT is((SELECT count(*) FROM delivery_attempt), 0::bigint, '... and no attempt row');
RESET ROLE;

-- delivered at once (accept_means_delivered), an expired lease taken over,
-- a suspended tenant's deliveries stay queued, the backlog.
INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)
SELECT :A, rule_id, 'P1', 'email', rule_id || ':' || n
  FROM alert_rules, generate_series(2, 3) AS n WHERE tenant_id = :A;
SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT results_eq($$SELECT channel::text, queued FROM leo_deliver_backlog()$$,
	$$VALUES ('email', 2::bigint)$$, 'backlog: A''s queued deliveries per channel');
CREATE TEMP TABLE c3 AS SELECT * FROM leo_deliver_claim('s1', 60, 1);
SELECT is((SELECT count(*) FROM c3), 1::bigint, 'p_limit');
SELECT is(leo_deliver_record('s1', (SELECT delivery_id FROM c3), 1, now(), now(), 'delivered',
	200, NULL, NULL, NULL, '{"status": 200}'), true, 'record delivered');
SELECT is((SELECT delivery_status::text FROM delivery_log WHERE delivery_id = (SELECT delivery_id FROM c3)),
	'delivered', 'queued -> delivered in one record');
CREATE TEMP TABLE c4 AS SELECT * FROM leo_deliver_claim('s1', 60, 5);
RESET ROLE;
UPDATE delivery_work SET claimed_until = now() - interval '1 s'
 WHERE delivery_id = (SELECT delivery_id FROM c4);
SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is((SELECT count(*) FROM leo_deliver_claim('s2', 60, 5)), 1::bigint,
	'an expired lease is taken over');
SELECT is(leo_deliver_record('s1', (SELECT delivery_id FROM c4), 1, now(), now(), 'sent', 200,
	NULL, NULL, NULL, NULL), false, 'the old owner''s result is refused');
RESET ROLE;
UPDATE tenant SET status = 'suspended' WHERE tenant_id = :A;
UPDATE delivery_work SET claimed_until = now() - interval '1 s' WHERE claimed_by IS NOT NULL;
SET ROLE leo_sender;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is((SELECT count(*) FROM leo_deliver_claim('s1', 60, 5)), 0::bigint,
	'a suspended tenant''s deliveries stay queued');
SET app.current_tenant_id = '';
SELECT is((SELECT count(*) FROM leo_deliver_claim('s1', 60, 5)), 0::bigint,
	'no tenant set: nothing');
RESET ROLE;

SELECT * FROM finish();
