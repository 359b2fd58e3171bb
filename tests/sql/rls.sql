-- Row-level security and the daemon's role: RLS is enabled and forced on
-- every tenant-owned table; a session sees and writes only its own tenant's
-- rows and nothing at all without a tenant; leo_alertd holds exactly the
-- privileges the daemon needs and is neither superuser, owner nor BYPASSRLS.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir fixture.inc

SELECT no_plan();

CREATE TEMP TABLE owned (tab text PRIMARY KEY, del boolean, upd boolean);
INSERT INTO owned VALUES
	('tenant', false, true), ('cdp_profiles', true, true), ('campaign', true, true),
	('marketing_event', true, true), ('message_templates', true, true),
	('instruments', true, true), ('alert_rules', true, true), ('agent_task', false, false),
	('delivery_log', false, true), ('behavioral_events', true, false),
	('consent_management', true, true), ('embedding_job', true, true),
	('delivery_work', true, true), ('delivery_attempt', false, false);
GRANT SELECT ON owned TO PUBLIC;

-- Catalog: every table with a tenant_id column is in the list, and each has
-- RLS enabled and forced, and its policies.
SELECT set_eq($$SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
		  AND NOT c.relispartition AND a.attname = 'tenant_id' AND NOT a.attisdropped$$,
	      $$SELECT tab FROM owned$$, 'the tenant-owned tables');
SELECT ok(c.relrowsecurity AND c.relforcerowsecurity, tab || ': RLS enabled and forced')
FROM owned JOIN pg_class c ON c.oid = ('public.' || tab)::regclass ORDER BY tab;
SELECT is_empty($$SELECT c.oid::regclass FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
		  WHERE c.relkind IN ('r', 'p') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)$$,
		'every partition has RLS enabled and forced as well');
SELECT policies_are('public', tab,
	ARRAY['tenant_select_policy', 'tenant_insert_policy']
	|| CASE WHEN upd THEN ARRAY['tenant_update_policy'] ELSE '{}' END
	|| CASE WHEN del THEN ARRAY['tenant_delete_policy'] ELSE '{}' END
	|| CASE WHEN tab = 'tenant' THEN ARRAY['tenant_owner_policy'] ELSE '{}' END,
	tab || ': its policies')
FROM owned ORDER BY tab;
SELECT ok(NOT relrowsecurity, relname || ' is global: no RLS')
FROM pg_class WHERE oid IN ('market_snapshot'::regclass, 'news_feed'::regclass);

-- The daemon's role.
SELECT ok(NOT rolsuper AND NOT rolbypassrls AND NOT rolcanlogin AND NOT rolcreaterole
	  AND NOT rolcreatedb, 'leo_alertd: NOLOGIN, not superuser, no BYPASSRLS')
FROM pg_roles WHERE rolname = 'leo_alertd';
SELECT ok(NOT rolsuper AND NOT rolbypassrls, 'leo_daemon: not superuser, no BYPASSRLS')
FROM pg_roles WHERE rolname = 'leo_daemon';
SELECT is((SELECT count(*)::int FROM pg_class WHERE relowner = 'leo_alertd'::regrole)
	  + (SELECT count(*)::int FROM pg_proc WHERE proowner = 'leo_alertd'::regrole)
	  + (SELECT count(*)::int FROM pg_namespace WHERE nspowner = 'leo_alertd'::regrole)
	  + (SELECT count(*)::int FROM pg_type WHERE typowner = 'leo_alertd'::regrole),
	  0, 'leo_alertd owns nothing');
SELECT set_eq($$SELECT c.relname::text || ' ' || p.priv
		FROM pg_class c CROSS JOIN unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p(priv)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
				  AND d.objid = c.oid AND d.deptype = 'e')	-- pgTAP's own
		  AND has_table_privilege('leo_alertd', c.oid, p.priv)$$,
	      ARRAY['market_snapshot SELECT', 'news_feed SELECT', 'alert_rules SELECT',
		    'consent_management SELECT', 'instruments SELECT', 'leo_notify_key SELECT',
		    'leo_reason SELECT',
		    'leo_checkpoint SELECT', 'leo_checkpoint INSERT', 'leo_checkpoint UPDATE',
		    'delivery_log SELECT',
		    'delivery_log INSERT', 'agent_task SELECT', 'agent_task INSERT'],
	      'leo_alertd: exactly the table privileges the daemon needs');
SELECT set_eq($$SELECT a.attname::text FROM pg_attribute a
		WHERE a.attrelid = 'alert_rules'::regclass AND a.attnum > 0 AND NOT a.attisdropped
		  AND has_column_privilege('leo_alertd', 'alert_rules', a.attname, 'UPDATE')$$,
	      ARRAY['status', 'trigger_count', 'last_triggered_at', 'updated_at'],
	      'leo_alertd: UPDATE on alert_rules (status, trigger_count, last_triggered_at, updated_at) only');
SELECT set_eq($$SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND CASE WHEN c.relkind = 'S'
			   THEN has_sequence_privilege('leo_alertd', c.oid, 'USAGE') END$$,
	      ARRAY['delivery_log_delivery_id_seq'], 'leo_alertd: USAGE on the delivery_log sequence only');
SELECT ok(has_function_privilege('leo_alertd', 'leo_active_tenants()', 'EXECUTE'),
	  'leo_alertd may run leo_active_tenants()');
SELECT ok(NOT has_function_privilege('public', 'leo_active_tenants()', 'EXECUTE'),
	  'PUBLIC may not run leo_active_tenants()');
SELECT ok(pg_has_role('leo_daemon', 'leo_alertd', 'MEMBER'), 'leo_daemon is a member of leo_alertd');

-- As the daemon: nothing without a tenant, and no error.
SET ROLE leo_daemon;
SELECT is((SELECT count(*)::int FROM alert_rules) + (SELECT count(*)::int FROM consent_management)
	  + (SELECT count(*)::int FROM delivery_log) + (SELECT count(*)::int FROM agent_task),
	  0, 'daemon, no tenant set: no tenant rows visible');
SELECT results_eq($$SELECT symbol::text FROM instruments$$, ARRAY['AAPL'],
		  'daemon, no tenant set: the global instrument only');
SET app.current_tenant_id = '';
SELECT is((SELECT count(*)::int FROM alert_rules), 0, 'daemon, empty tenant: nothing visible');
SELECT throws_ok($$INSERT INTO agent_task (task_id, tenant_id, reasoning_trace, reasoning_summary)
		   VALUES ('x', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', '[]', 'x')$$,
		 '42501', NULL, 'daemon, no tenant set: cannot write');
SELECT results_eq($$SELECT * FROM leo_active_tenants()$$,
		  $$VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'::uuid), ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'::uuid)$$,
		  'leo_active_tenants(): the active tenants, without a tenant set');
SELECT throws_ok($$SELECT * FROM tenant$$, '42501', NULL, 'daemon cannot read tenant directly');
SELECT throws_ok($$SELECT * FROM cdp_profiles$$, '42501', NULL, 'daemon cannot read cdp_profiles');
SELECT lives_ok($$SELECT set_config('leo.writer', 'on', true), set_config('leo.market_channel', 'x', true)$$,
		'daemon may set leo.writer and leo.market_channel');
SELECT lives_ok($$SELECT pg_notify('leo_delivery', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa 1')$$,
		'daemon may notify leo_delivery');

-- As the daemon for tenant A.
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT results_eq($$SELECT DISTINCT tenant_id FROM alert_rules$$,
		  ARRAY['aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'::uuid], 'daemon as A: A''s rules only');
SELECT results_eq($$SELECT count(*)::int FROM consent_management$$, ARRAY[1], 'daemon as A: A''s consent only');
SELECT results_eq($$SELECT symbol::text FROM instruments ORDER BY 1$$, ARRAY['AAPL', 'PRIV'],
		  'daemon as A: global and own instruments');
SELECT lives_ok($$INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)
		  SELECT tenant_id, rule_id, profile_id, channel, rule_id || ':2' FROM alert_rules
		  ON CONFLICT (idempotency_key) DO NOTHING$$, 'daemon as A: writes A''s delivery_log');
SELECT lives_ok($$INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id, reasoning_trace, reasoning_summary)
		  SELECT rule_id || ':2', tenant_id, profile_id, rule_id, '[]', 'x' FROM alert_rules
		  ON CONFLICT (task_id) DO NOTHING RETURNING task_id$$, 'daemon as A: writes A''s agent_task');
SELECT throws_ok($$INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key)
		   VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'P1', 'email', 'b:9')$$,
		 '42501', NULL, 'daemon as A: cannot write B''s delivery_log');
SELECT throws_ok($$INSERT INTO agent_task (task_id, tenant_id, reasoning_trace, reasoning_summary)
		   VALUES ('b:9', 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', '[]', 'x')$$,
		 '42501', NULL, 'daemon as A: cannot write B''s agent_task');
SELECT results_eq($$WITH u AS (UPDATE alert_rules SET status = 'TRIGGERED', trigger_count = 1
				 WHERE tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb' RETURNING 1)
		    SELECT count(*)::int FROM u$$, ARRAY[0], 'daemon as A: B''s rules cannot be updated');
SELECT results_eq($$WITH u AS (UPDATE alert_rules SET status = 'TRIGGERED', trigger_count = 1,
				 last_triggered_at = now() RETURNING 1)
		    SELECT count(*)::int FROM u$$, ARRAY[1], 'daemon as A: claims A''s rule');
SELECT throws_ok($$UPDATE alert_rules SET condition_logic = '{"operator": "<", "value": 1}'$$,
		 '42501', NULL, 'daemon cannot change condition_logic');
SELECT throws_ok($$DELETE FROM delivery_log$$, '42501', NULL, 'daemon cannot delete deliveries');
SELECT throws_ok($$UPDATE market_snapshot SET price = 1$$, '42501', NULL, 'daemon cannot write prices');
RESET ROLE;
SELECT results_eq($$SELECT tenant_id::text || ' ' || status FROM alert_rules ORDER BY 1$$,
		  ARRAY['aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa TRIGGERED', 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb ACTIVE'],
		  'only A''s rule changed');
SET app.current_tenant_id = '';

-- Every tenant-owned table, through a role with every table privilege
-- (as an application would have): A sees and writes only A.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leo_rls_probe') THEN
		CREATE ROLE leo_rls_probe NOLOGIN;
	END IF;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO leo_rls_probe;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO leo_rls_probe;

CREATE FUNCTION pg_temp.affected(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	n int;
BEGIN
	EXECUTE q;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
CREATE FUNCTION pg_temp.scalar(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE q INTO r;
	RETURN r;
END
$$;

SET ROLE leo_rls_probe;
SELECT is(pg_temp.scalar(format('SELECT count(*) FROM %I', tab)),
	  CASE WHEN tab = 'instruments' THEN '1' ELSE '0' END,
	  tab || ': no tenant set, nothing of any tenant visible')
FROM owned ORDER BY tab;
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
SELECT is(pg_temp.scalar(format('SELECT string_agg(DISTINCT coalesce(tenant_id::text, %L), %L) FROM %I',
				'global', ' ', tab)),
	  CASE WHEN tab = 'instruments' THEN 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa global'
	       ELSE 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa' END,
	  tab || ': tenant A sees its own rows only')
FROM owned ORDER BY tab;
SELECT is(pg_temp.affected(format('UPDATE %I SET created_at = created_at WHERE tenant_id = %L',
				  tab, 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb')),
	  0, tab || ': tenant A cannot update B''s rows')
FROM owned ORDER BY tab;
SELECT is(pg_temp.affected(format('DELETE FROM %I WHERE tenant_id = %L',
				  tab, 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb')),
	  0, tab || ': tenant A cannot delete B''s rows')
FROM owned WHERE tab NOT IN ('delivery_log', 'agent_task') ORDER BY tab;
SELECT throws_ok(format('UPDATE %I SET tenant_id = %L', tab, 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'),
		 '42501', NULL, tab || ': tenant A cannot move its rows to B')
FROM owned WHERE upd AND tab NOT IN ('tenant', 'instruments', 'delivery_log') ORDER BY tab;
-- (delivery_log refuses any change of tenant_id already: append_only.sql)
SELECT throws_ok(q, '42501', NULL, tab || ': tenant A cannot insert a row of B')
FROM (VALUES
	('tenant', $$INSERT INTO tenant (tenant_id, tenant_name) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbb0', 'X')$$),
	('cdp_profiles', $$INSERT INTO cdp_profiles (tenant_id, profile_id) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'P2')$$),
	('campaign', $$INSERT INTO campaign (tenant_id, campaign_id, campaign_code) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'C2', 'X')$$),
	('marketing_event', $$INSERT INTO marketing_event (tenant_id, marketing_event_id) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'E2')$$),
	('message_templates', $$INSERT INTO message_templates (tenant_id, channel, body_template) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'sms', 'x')$$),
	('instruments', $$INSERT INTO instruments (tenant_id, symbol) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'X')$$),
	('instruments (global)', $$INSERT INTO instruments (tenant_id, symbol) VALUES (NULL, 'X')$$),
	('alert_rules', $$INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'P1', 'X', '{"operator": ">", "value": 1}')$$),
	('agent_task', $$INSERT INTO agent_task (task_id, tenant_id, reasoning_trace, reasoning_summary) VALUES ('t2', 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', '[]', 'x')$$),
	('delivery_log', $$INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'P1', 'sms', 'k2')$$),
	('behavioral_events', $$INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'P1', 'CLICK', 'NEWS')$$),
	('consent_management', $$INSERT INTO consent_management (tenant_id, profile_id, channel, legal_basis) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'P1', 'sms', 'contract')$$),
	('embedding_job', $$INSERT INTO embedding_job (tenant_id, profile_id) VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'P1')$$)
) AS v(tab, q) ORDER BY tab;
SELECT is(pg_temp.affected($$UPDATE instruments SET symbol = 'Y' WHERE tenant_id IS NULL$$), 0,
	  'instruments: a tenant cannot update a global row');
SELECT lives_ok($$INSERT INTO cdp_profiles (tenant_id, profile_id) VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P2')$$,
		'tenant A inserts its own profile (and the queued embedding job)');
SELECT is(pg_temp.affected($$DELETE FROM cdp_profiles WHERE profile_id = 'P2'$$), 1,
	  'tenant A deletes its own profile');
RESET ROLE;
SET app.current_tenant_id = '';
SELECT is((SELECT count(*)::int FROM tenant), 3, 'no tenant was added (superuser view)');

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM leo_rls_probe;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM leo_rls_probe;

SELECT * FROM finish();
