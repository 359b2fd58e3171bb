-- alert_rules identity and columns, the embedding_job queue, the column
-- checks of market_snapshot, and the partitions of marketing_event and
-- behavioral_events.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir fixture.inc

SELECT no_plan();

CREATE FUNCTION pg_temp.affected(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	n int;
BEGIN
	EXECUTE q;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- rule_id: sha256 of tenant, profile, symbol and logic, joined by U+001F.
SELECT is(rule_id,
	  encode(sha256(convert_to(tenant_id::text || chr(31) || 'P1' || chr(31) || 'AAPL' || chr(31)
				   || '{"value": 150.1, "operator": ">"}', 'UTF8')), 'hex'),
	  'rule_id is the sha256 of tenant, profile, symbol and logic')
FROM alert_rules WHERE tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is((SELECT count(DISTINCT rule_id)::int FROM alert_rules), 2, 'one id per tenant for the same rule');
SELECT throws_ok($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
		   VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'AAPL', '{"operator": ">", "value": 150.1}')$$,
		 '23505', NULL, 'the same rule again is a primary-key conflict');
SELECT is(pg_temp.affected($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
			     VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'AAPL',
				     '{ "value" : 150.1 , "operator" : ">" }')
			     ON CONFLICT (rule_id) DO NOTHING$$), 0,
	  'the same rule written differently is the same rule (ON CONFLICT DO NOTHING)');
SELECT is(pg_temp.affected($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
			     VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'AAPL', '{"operator": ">", "value": 150.10}'),
				    ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'MSFT', '{"operator": ">", "value": 150.1}')
			     ON CONFLICT (rule_id) DO NOTHING$$), 2,
	  'another symbol or another written number is another rule');
SELECT is((SELECT count(*)::int FROM alert_rules WHERE rule_id !~ '^[0-9a-f]{64}$'), 0,
	  'rule ids are 64 lower-case hex digits');
SELECT lives_ok($$INSERT INTO alert_rules (rule_id, tenant_id, profile_id, symbol, condition_logic)
		  VALUES (repeat('ab', 32), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'AAPL', '{"operator": "<", "value": 1}')$$,
		'a given rule_id is kept');
SELECT throws_ok($$INSERT INTO alert_rules (rule_id, tenant_id, profile_id, symbol, condition_logic)
		   VALUES (repeat('AB', 32), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'AAPL', '{"operator": "<", "value": 1}')$$,
		 '23514', NULL, 'a given rule_id must be lower-case hex');
SELECT throws_ok($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
		   VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'nobody', 'AAPL', '{"operator": "<", "value": 1}')$$,
		 '23503', NULL, 'a rule needs its profile');

-- Defaults and checks of the rule columns.
SELECT results_eq($$SELECT source::text, status::text, channel::text, trigger_mode::text, cooldown_seconds,
			   rearm_hysteresis, trigger_count, template_id, marketing_event_id, expires_at
		    FROM alert_rules WHERE symbol = 'MSFT'$$,
		  $$VALUES ('USER_MANUAL', 'ACTIVE', 'email', 'ONCE', 0, 0::numeric, 0::bigint, NULL::uuid,
			    NULL::text, NULL::timestamptz)$$, 'rule defaults');
SELECT lives_ok($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, expires_at,
					   trigger_mode, cooldown_seconds, rearm_hysteresis, source, channel)
		  VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'OLD', '{"operator": ">", "value": 1}',
			  now() - interval '1 day', 'REARM', 60, 999999999999.99999999, 'AI_AGENT', 'zalo_oa')$$,
		'a rule that has already expired is accepted (the daemon expires it)');
SELECT throws_ok(format($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, %s)
			  VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', %L, '{"operator": ">", "value": 2}', %s)$$,
			 col, 'S' || n, val),
		 '23514', NULL, 'refused: ' || col || ' = ' || val)
FROM (VALUES (1, 'cooldown_seconds', '-1'), (2, 'rearm_hysteresis', '-0.1'),
	     (3, 'rearm_hysteresis', '0.123456789'), (4, 'rearm_hysteresis', '1000000000000'),
	     (5, 'trigger_count', '-1')) AS v(n, col, val);
SELECT throws_ok(format($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
			  VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', %s, '{"operator": ">", "value": 3}')$$, sym),
		 '23514', NULL, 'refused symbol ' || what)
FROM (VALUES ($$''$$, 'empty'), ($$E'A\tB'$$, 'with a tab'), ($$E'A\nB'$$, 'with a newline'),
	     ($$E'A\u0085'$$, 'with a C1 control')) AS v(sym, what);
SELECT throws_ok($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
		   VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', repeat('X', 65), '{"operator": ">", "value": 3}')$$,
		 '22001', NULL, 'refused symbol of 65 characters');
SELECT lives_ok($$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
		  VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', repeat('é', 64), '{"operator": ">", "value": 3}')$$,
		'a symbol of 64 characters, any script');

-- market_snapshot columns.
SELECT throws_ok(format('INSERT INTO market_snapshot (symbol, price, change_percent) VALUES (%s, %s, %s)',
			sym, price, chg), '23514', NULL, 'market_snapshot refuses ' || what)
FROM (VALUES ($$'X1'$$, $$'NaN'$$, 'NULL', 'a NaN price'),
	     ($$'X2'$$, $$'Infinity'$$, 'NULL', 'an infinite price'),
	     ($$'X3'$$, '1', $$'-Infinity'$$, 'an infinite change'),
	     ($$'X4'$$, '1.' || repeat('1', 39), 'NULL', 'a price of 41 characters'),
	     ($$'X5'$$, '1', '-1.' || repeat('1', 38), 'a change of 41 characters'),
	     ($$E'X\t6'$$, '1', 'NULL', 'a symbol with a tab'),
	     ($$''$$, '1', 'NULL', 'an empty symbol')) AS v(sym, price, chg, what);
SELECT lives_ok($$INSERT INTO market_snapshot (symbol, price, change_percent)
		  VALUES ('X7', ('1.' || repeat('0', 38))::numeric, ('-1.' || repeat('0', 37))::numeric)$$,
		'40 characters are fine');
SELECT is((SELECT length(price::text) || ' ' || length(change_percent::text) FROM market_snapshot WHERE symbol = 'X7'),
	  '40 40', 'stored with 40 characters each');

-- embedding_job: one queued job per new profile.
SELECT results_eq($$SELECT tenant_id::text || ' ' || profile_id || ' ' || status FROM embedding_job ORDER BY 1$$,
		  ARRAY['aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa P1 queued', 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb P1 queued'],
		  'the fixture''s profiles are queued');
INSERT INTO cdp_profiles (tenant_id, profile_id)
SELECT 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'Q' || i FROM generate_series(1, 50) AS i;
SELECT is((SELECT count(*)::int FROM embedding_job WHERE profile_id LIKE 'Q%' AND status = 'queued'), 50,
	  'a 50-row insert queues 50 jobs');
SELECT is((SELECT count(*)::int FROM embedding_job), 52, 'no other jobs');
UPDATE cdp_profiles SET living_location = 'Vietnam';
SELECT is((SELECT count(*)::int FROM embedding_job), 52, 'an update queues nothing');
SELECT trigger_is('cdp_profiles', 'cdp_profiles_queue_embedding_job', 'leo_queue_embedding_job',
		  'the queue trigger');

-- marketing_event: 16 hash partitions by tenant_id.
SELECT is((SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'marketing_event'::regclass), 16,
	  'marketing_event has 16 partitions');
SELECT is((SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = 'marketing_event'::regclass), 'h',
	  'by hash');
INSERT INTO tenant (tenant_id, tenant_name)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid, 'T' || i FROM generate_series(1, 64) AS i;
INSERT INTO campaign (tenant_id, campaign_id, campaign_code)
SELECT tenant_id, 'C', 'C' FROM tenant WHERE tenant_name LIKE 'T%';
INSERT INTO marketing_event (tenant_id, marketing_event_id, campaign_id, event_type, event_channel)
SELECT tenant_id, 'E', 'C', 'BROADCAST', 'SMS' FROM tenant WHERE tenant_name LIKE 'T%';
SELECT cmp_ok((SELECT count(DISTINCT tableoid)::int FROM marketing_event), '>=', 8,
	      '66 tenants spread over at least 8 partitions');
SELECT is((SELECT count(*)::int FROM marketing_event m
	   WHERE NOT satisfies_hash_partition('marketing_event'::regclass, 16,
					      substring(m.tableoid::regclass::text from '..$')::int, m.tenant_id)),
	  0, 'every row sits in the partition of its tenant''s hash');

-- behavioral_events: a partition per UTC month, a DEFAULT for the rest.
CREATE FUNCTION pg_temp.part_of(at timestamptz) RETURNS text LANGUAGE sql AS $$
	WITH ins AS (INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type, occurred_at)
		     VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'CLICK', 'NEWS', at)
		     RETURNING tableoid)
	SELECT tableoid::regclass::text FROM ins
$$;
SELECT is(pg_temp.part_of(now()), 'behavioral_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'),
	  'an event of now goes to this month''s partition');
SELECT is(pg_temp.part_of(date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '3 months'),
	  'behavioral_events_' || to_char(now() AT TIME ZONE 'UTC' + interval '3 months', 'YYYY_MM'),
	  'the first instant of the third month ahead goes to its partition');
SELECT is(pg_temp.part_of(date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 microsecond'),
	  'behavioral_events_default', 'the last instant of last month goes to the default partition');
SELECT is(pg_temp.part_of('2001-09-11 12:00Z'), 'behavioral_events_default', 'an old event goes to the default partition');
SELECT is(pg_temp.part_of(now() + interval '6 months'), 'behavioral_events_default',
	  'a far future event goes to the default partition');
SELECT is((SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'behavioral_events'::regclass), 5,
	  'the schema made this month, three ahead and the default');
SELECT is(behavioral_events_create_partitions(7), 4, 'create_partitions(7) adds four months');
SELECT is(behavioral_events_create_partitions(7), 0, 'and again adds none');
SELECT is((SELECT tableoid::regclass::text FROM behavioral_events WHERE occurred_at > now() + interval '5 months'),
	  'behavioral_events_' || to_char(now() AT TIME ZONE 'UTC' + interval '6 months', 'YYYY_MM'),
	  'the far future event moved from the default into its new partition');
SELECT is((SELECT count(*)::int FROM behavioral_events), 7, 'no event lost');
SELECT ok(bool_and(c.relrowsecurity AND c.relforcerowsecurity), 'new partitions have RLS forced')
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'behavioral_events'::regclass;
SELECT throws_ok($$SELECT behavioral_events_create_partitions(-1)$$, '22023', NULL, 'months_ahead >= 0');

-- Indexes the daemon and the reference rely on.
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'alert_rules_symbol_idx'::regclass),
	  NULL, 'index of rules by symbol, with no predicate on status (claims stay HOT)');
SELECT is((SELECT reloptions FROM pg_class WHERE oid = 'alert_rules'::regclass),
	  '{fillfactor=80}', 'alert_rules leaves room on its pages for HOT claims');
SELECT is((SELECT am.amname::text FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = i::regclass),
	  'gin', i || ' is GIN')
FROM unnest('{cdp_profiles_identities_gin,cdp_profiles_segments_gin,news_feed_related_symbols_gin}'::text[]) AS i;

SELECT * FROM finish();
