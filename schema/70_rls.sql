-- 70_rls.sql — row-level security: enabled and forced (so the owner obeys it
-- too) on every tenant-owned table, keyed on the session setting
-- app.current_tenant_id.  With the setting unset or empty the key is NULL:
-- nothing is visible and nothing can be written, without an error.
--
-- Per table: tenant_select_policy, tenant_insert_policy, tenant_update_policy
-- and, where deleting is legitimate (erasure, clean-up), tenant_delete_policy.
-- Policies are dropped and created again, so a re-apply also brings changed
-- definitions up to date while leaving an identical catalog.
--
-- Not written: DELETE on delivery_log, agent_task, tenant (append-only or the
-- root), UPDATE on agent_task.  instruments rows with a NULL tenant_id are
-- global: visible to everyone, writable only by a role that bypasses RLS.
-- FORCE binds the tables' owner too: provisioning a tenant's rows sets
-- app.current_tenant_id to that tenant first, or runs as a role with
-- BYPASSRLS (a superuser, in the tests).

SET client_min_messages = warning;

DO $$
DECLARE
	cur constant text := $k$nullif(current_setting('app.current_tenant_id', true), '')::uuid$k$;
	t record;
	p text;
	part record;
BEGIN
	FOR t IN
		SELECT * FROM (VALUES
			-- table, policies, select USING
			('tenant', '{select,insert,update}', NULL),
			('cdp_profiles', '{select,insert,update,delete}', NULL),
			('campaign', '{select,insert,update,delete}', NULL),
			('marketing_event', '{select,insert,update,delete}', NULL),
			('message_templates', '{select,insert,update,delete}', NULL),
			('instruments', '{select,insert,update,delete}', 'tenant_id IS NULL OR '),
			('alert_rules', '{select,insert,update,delete}', NULL),
			('agent_task', '{select,insert}', NULL),
			('delivery_log', '{select,insert,update}', NULL),
			('behavioral_events', '{select,insert,delete}', NULL),
			('consent_management', '{select,insert,update,delete}', NULL),
			('embedding_job', '{select,insert,update,delete}', NULL),
			('delivery_work', '{select,insert,update,delete}', NULL),
			('delivery_attempt', '{select,insert}', NULL)
		) AS v(tab, cmds, extra)
	LOOP
		EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t.tab);
		EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', t.tab);
		FOREACH p IN ARRAY ARRAY['select', 'insert', 'update', 'delete'] LOOP
			EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', 'tenant_' || p || '_policy', t.tab);
			CONTINUE WHEN NOT p = ANY (t.cmds::text[]);
			EXECUTE format('CREATE POLICY %I ON public.%I FOR %s %s',
				'tenant_' || p || '_policy', t.tab, upper(p),
				CASE p
				WHEN 'select' THEN format('USING (%stenant_id = %s)', t.extra, cur)
				WHEN 'insert' THEN format('WITH CHECK (tenant_id = %s)', cur)
				WHEN 'update' THEN format('USING (tenant_id = %s) WITH CHECK (tenant_id = %s)', cur, cur)
				ELSE format('USING (tenant_id = %s)', cur)
				END);
		END LOOP;
		-- Partitions are reached through their parent, whose policies
		-- apply; direct access to a partition sees nothing.
		FOR part IN SELECT inhrelid::regclass AS rel FROM pg_inherits
			    WHERE inhparent = ('public.' || t.tab)::regclass LOOP
			EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part.rel);
			EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', part.rel);
		END LOOP;
	END LOOP;
END
$$;

-- The owner of tenant reads every row (leo_active_tenants() runs as it).
DROP POLICY IF EXISTS tenant_owner_policy ON tenant;
CREATE POLICY tenant_owner_policy ON tenant FOR SELECT
	USING (current_user = (SELECT pg_get_userbyid(c.relowner) FROM pg_class AS c
			       WHERE c.oid = 'public.tenant'::regclass));

-- One tenant per transaction for the daemon.  leo-alertd writes each batch
-- as one transaction under one tenant; a member of leo_alertd that writes
-- rows of a second tenant in the same transaction (by switching
-- app.current_tenant_id between statements, or inside one statement) is
-- refused, so a bug or a compromised daemon cannot mix tenants in a batch.
-- The tenant a transaction wrote first is kept in leo_txn_tenant, one row
-- per backend, which only the SECURITY DEFINER guard can reach: the
-- daemon's role cannot read, reset or forge it.  Superusers and other
-- roles (provisioning, applications) are not bound by it.
CREATE UNLOGGED TABLE IF NOT EXISTS leo_txn_tenant (
	pid integer PRIMARY KEY,
	xid xid8 NOT NULL,
	tenant uuid NOT NULL
);
REVOKE ALL ON leo_txn_tenant FROM PUBLIC;

CREATE OR REPLACE FUNCTION leo_daemon_session() RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT pg_has_role(current_user, 'leo_alertd', 'MEMBER') AND NOT r.rolsuper
	  FROM pg_roles r WHERE r.rolname = current_user
$$;

CREATE OR REPLACE FUNCTION leo_one_tenant_per_txn() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
	n integer;
	t uuid;
	kept uuid;
BEGIN
	SELECT count(DISTINCT tenant_id), min(tenant_id::text)::uuid INTO n, t FROM leo_rows;
	IF n = 1 THEN
		INSERT INTO leo_txn_tenant AS k (pid, xid, tenant)
		VALUES (pg_backend_pid(), pg_current_xact_id(), t)
		ON CONFLICT (pid) DO UPDATE
			SET xid = excluded.xid,
			    tenant = CASE WHEN k.xid = excluded.xid THEN k.tenant ELSE excluded.tenant END
		RETURNING tenant INTO kept;
	END IF;
	IF n > 1 OR kept <> t THEN
		RAISE EXCEPTION 'leo-alertd writes one tenant per transaction: % rows of tenant % in a transaction of tenant %',
			TG_TABLE_NAME, t, coalesce(kept::text, '(several in one statement)')
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION leo_one_tenant_per_txn() FROM PUBLIC;

CREATE OR REPLACE TRIGGER alert_rules_one_tenant
	AFTER UPDATE ON alert_rules REFERENCING NEW TABLE AS leo_rows
	FOR EACH STATEMENT WHEN (leo_daemon_session())
	EXECUTE FUNCTION leo_one_tenant_per_txn();
CREATE OR REPLACE TRIGGER delivery_log_one_tenant
	AFTER INSERT ON delivery_log REFERENCING NEW TABLE AS leo_rows
	FOR EACH STATEMENT WHEN (leo_daemon_session())
	EXECUTE FUNCTION leo_one_tenant_per_txn();
CREATE OR REPLACE TRIGGER agent_task_one_tenant
	AFTER INSERT ON agent_task REFERENCING NEW TABLE AS leo_rows
	FOR EACH STATEMENT WHEN (leo_daemon_session())
	EXECUTE FUNCTION leo_one_tenant_per_txn();
