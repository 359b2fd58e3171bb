-- 40_functions.sql — trigger functions, the partition function and
-- leo_active_tenants().  The triggers that use them are in 50_triggers.sql.
--
-- Every function pins its search_path, so a caller's search_path can neither
-- break nor hijack it — except the two that run for every price tick,
-- update_timestamp() and leo_market_notify(): a SET clause costs each call a
-- GUC change and a search-path recomputation.  They run with the invoker's
-- rights, name nothing outside pg_catalog (which is searched first unless a
-- caller deliberately lists it later, hurting only that caller) and their
-- trigger's transition tables.

SET client_min_messages = warning;	-- quiet "already exists" on a re-apply

-- Keeps updated_at on every mutable table (BEFORE UPDATE).
CREATE OR REPLACE FUNCTION update_timestamp()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END
$$;

-- cdp_profiles.segment_snapshots is an append-only audit trail: an UPDATE
-- must keep the old JSON array as a prefix of the new one, i.e. it may only
-- append entries at the end (BEFORE UPDATE OF segment_snapshots).
CREATE OR REPLACE FUNCTION prevent_snapshot_removal()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	oldlen integer := jsonb_array_length(OLD.segment_snapshots);
BEGIN
	IF jsonb_typeof(NEW.segment_snapshots) IS DISTINCT FROM 'array'
	   OR jsonb_array_length(NEW.segment_snapshots) < oldlen
	   OR (SELECT coalesce(jsonb_agg(e ORDER BY i), '[]')
	       FROM jsonb_array_elements(NEW.segment_snapshots) WITH ORDINALITY AS a(e, i)
	       WHERE i <= oldlen) IS DISTINCT FROM OLD.segment_snapshots THEN
		RAISE EXCEPTION 'cdp_profiles.segment_snapshots is append-only: entries may be added at the end, never changed or removed'
			USING ERRCODE = 'integrity_constraint_violation',
			      DETAIL = format('profile %s of tenant %s', OLD.profile_id, OLD.tenant_id);
	END IF;
	RETURN NEW;
END
$$;

-- alert_rules BEFORE INSERT OR UPDATE: reject a condition the daemon could
-- not evaluate (with leo_condition_check's message), then compute rule_id
-- when the caller left it NULL.  The same rule inserted twice therefore has
-- the same rule_id: a primary-key conflict (ON CONFLICT (rule_id) DO NOTHING).
-- The check runs only when condition_logic is new or changed: a CHECK
-- constraint would run the validator again on every UPDATE of the row,
-- including the daemon's claims, which never change it.
-- The last firing the daemon wrote for a rule id: the seq of its newest
-- agent_task row (task_id '<rule_id>:<seq>'), 0 when none.  A rule deleted
-- and inserted again has the same rule_id; its firings must go on from
-- there, or their idempotency keys and task ids would collide with the old
-- ones and be dropped as duplicates.  SECURITY DEFINER for the privilege
-- only: row-level security still shows the inserting tenant's rows.
CREATE OR REPLACE FUNCTION leo_rule_last_seq(p_rule_id text)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
	SELECT coalesce(max(substr(task_id, length(p_rule_id) + 2)::bigint), 0)
	  FROM agent_task
	 WHERE rule_id = p_rule_id
	   AND left(task_id, length(p_rule_id) + 1) = p_rule_id || ':'
	   AND substr(task_id, length(p_rule_id) + 2) ~ '^[0-9]{1,18}$'
$$;
REVOKE ALL ON FUNCTION leo_rule_last_seq(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION leo_rule_before()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	msg text;
BEGIN
	IF TG_OP = 'INSERT' OR NEW.condition_logic IS DISTINCT FROM OLD.condition_logic THEN
		msg := leo_condition_check(NEW.condition_logic);
		IF msg IS NOT NULL THEN
			RAISE EXCEPTION 'invalid condition_logic: %', msg
				USING ERRCODE = 'check_violation',
				      CONSTRAINT = 'alert_rules_condition_logic_check',
				      TABLE = 'alert_rules';
		END IF;
	END IF;
	IF TG_OP = 'INSERT' AND NEW.rule_id IS NULL THEN
		NEW.rule_id := encode(digest(NEW.tenant_id::text || E'\x1f' || NEW.profile_id
					     || E'\x1f' || NEW.symbol || E'\x1f'
					     || NEW.condition_logic::text, 'sha256'), 'hex');
	END IF;
	IF TG_OP = 'INSERT' AND NEW.trigger_count >= 0 THEN	-- a negative one fails its CHECK
		NEW.trigger_count := greatest(NEW.trigger_count, leo_rule_last_seq(NEW.rule_id));
	END IF;
	RETURN NEW;
END
$$;

-- delivery_log is append-only: no DELETE (nor TRUNCATE), and an UPDATE may
-- change delivery_status only, forward along queued -> sent -> delivered or
-- queued|sent -> failed (exactly these four steps; delivered and failed are
-- final), and provider_response only in the same UPDATE as delivery_status.
CREATE OR REPLACE FUNCTION delivery_log_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
	IF TG_OP <> 'UPDATE' THEN
		RAISE EXCEPTION 'delivery_log is append-only: % is not allowed', TG_OP
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	IF to_jsonb(NEW) - '{delivery_status,provider_response,updated_at}'::text[]
	   IS DISTINCT FROM to_jsonb(OLD) - '{delivery_status,provider_response,updated_at}'::text[] THEN
		RAISE EXCEPTION 'delivery_log is append-only: only delivery_status (with provider_response) may change'
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	IF NEW.delivery_status = OLD.delivery_status THEN
		IF NEW.provider_response IS DISTINCT FROM OLD.provider_response THEN
			RAISE EXCEPTION 'delivery_log: provider_response may change only together with delivery_status'
				USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END IF;
	IF (OLD.delivery_status, NEW.delivery_status) NOT IN
	   (('queued', 'sent'), ('sent', 'delivered'), ('queued', 'failed'), ('sent', 'failed')) THEN
		RAISE EXCEPTION 'delivery_log: delivery_status may not go from % to %',
			OLD.delivery_status, NEW.delivery_status
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END
$$;

-- agent_task and behavioral_events rows are never changed; agent_task rows
-- are never deleted either (BEFORE UPDATE/DELETE/TRUNCATE, as configured in
-- 50_triggers.sql).
CREATE OR REPLACE FUNCTION leo_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
	RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'integrity_constraint_violation';
END
$$;

-- A new cdp_profiles row queues one embedding_job (AFTER INSERT, per
-- statement).  SECURITY DEFINER, so writers of profiles need no privilege on
-- the queue; row-level security still applies (it is forced on the owner too).
CREATE OR REPLACE FUNCTION leo_queue_embedding_job()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
	INSERT INTO embedding_job (tenant_id, profile_id)
	SELECT tenant_id, profile_id FROM leo_new_profiles;
	RETURN NULL;
END
$$;

-- Every notification the daemon acts on is sent through leo_notify: the
-- lower-case hex HMAC-SHA256 of the body under leo_notify_key, a space, the
-- body.  The daemon checks it, so a session that can connect but cannot
-- change the tables cannot speak for them.  Only the owner may run it: the
-- notifying trigger functions below are SECURITY DEFINER for that (trigger
-- functions cannot be called directly), and PUBLIC cannot sign a body of
-- its own choosing.  PL/pgSQL, whose plan is kept for the session (a SQL
-- function's body is planned again at every call from a trigger), and no
-- SET clause (a GUC change per call): its only callers set search_path.
CREATE OR REPLACE FUNCTION leo_notify(chan text, body text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_notify(chan, encode(hmac(convert_to(body, 'UTF8'),
					    (SELECT k.key FROM leo_notify_key AS k), 'sha256'), 'hex')
				|| ' ' || body);
END
$$;
REVOKE ALL ON FUNCTION leo_notify(text, text) FROM PUBLIC;

-- market_snapshot AFTER INSERT / AFTER UPDATE, per statement, with the
-- statement's transition tables.  Sends the changed rows to the market channel
-- (leo.market_channel, default leo_market) as text:
--
--   M1 <xid> <stmt>\n<symbol>\t<old_price>\t<new_price>\t<old_chg>\t<new_chg>\n...
--
-- xid is pg_current_xact_id(); stmt numbers the notifying statements of the
-- transaction (1, 2, ...; kept in the transaction-local setting
-- leo.market_stmt).  PostgreSQL delivers identical notifications of one
-- transaction once, so without stmt a transaction whose statements move a
-- price 1 -> 2, 2 -> 1 and 1 -> 2 again would lose the third change.  An
-- empty field is a NULL (old fields are empty for INSERT); numbers are numeric::text.  Rows whose price and
-- change_percent did not change, and rows whose new price is NULL, are left
-- out; nothing is sent when no row is left.  Each notification stays below
-- 8000 bytes: a line is at most 421 bytes (a 64-character symbol of up to 4
-- bytes each, four numbers of at most 40 characters, tabs), and lines are
-- cut into chunks of at most 7400 bytes plus one line, each with its own
-- header, in the statement's row order.
--
-- Speed matters (one call per feed statement): one query reads each
-- transition table into arrays and zips them by position — PostgreSQL fills
-- the old and the new table in the same order — so there is no join and no
-- sort, and a statement whose lines fit one notification (the usual case)
-- skips the chunking query.  (A join on row_number() with a windowed chunk
-- number cost several times as much per 50-row statement.)
CREATE OR REPLACE FUNCTION leo_market_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
	chan text := coalesce(nullif(current_setting('leo.market_channel', true), ''), 'leo_market');
	hdr text;
	lines text[];
	total bigint;
	msg text;
BEGIN
	IF TG_OP = 'UPDATE' THEN
		SELECT array_agg(line), sum(octet_length(line) + 1) INTO lines, total
		FROM (SELECT CASE WHEN u.os = u.ns THEN
				u.ns || E'\t' || coalesce(u.op::text, '') || E'\t' || u.np::text
				|| E'\t' || coalesce(u.oc::text, '') || E'\t' || coalesce(u.nc::text, '')
			     ELSE	-- the row got a new symbol: nothing old to report
				u.ns || E'\t\t' || u.np::text || E'\t\t' || coalesce(u.nc::text, '')
			     END AS line
		      FROM unnest(ARRAY(SELECT symbol::text FROM leo_old_rows),
				  ARRAY(SELECT price FROM leo_old_rows),
				  ARRAY(SELECT change_percent FROM leo_old_rows),
				  ARRAY(SELECT symbol::text FROM leo_new_rows),
				  ARRAY(SELECT price FROM leo_new_rows),
				  ARRAY(SELECT change_percent FROM leo_new_rows))
			   AS u(os, op, oc, ns, np, nc)
		      WHERE u.np IS NOT NULL
			AND (u.os <> u.ns OR u.op IS DISTINCT FROM u.np
			     OR u.oc IS DISTINCT FROM u.nc)) AS l;
	ELSE
		SELECT array_agg(symbol || E'\t\t' || price::text || E'\t\t'
				 || coalesce(change_percent::text, '')),
		       sum(octet_length(symbol) + octet_length(price::text)
			   + coalesce(octet_length(change_percent::text), 0) + 5)
		INTO lines, total
		FROM leo_new_rows
		WHERE price IS NOT NULL;
	END IF;
	IF lines IS NULL THEN
		RETURN NULL;
	END IF;

	hdr := 'M1 ' || pg_current_xact_id()::text || ' '
		|| set_config('leo.market_stmt',
			      (coalesce(nullif(current_setting('leo.market_stmt', true), ''), '0')::bigint + 1)::text,
			      true)
		|| E'\n';
	IF total <= 7400 THEN
		PERFORM leo_notify(chan, hdr || array_to_string(lines, E'\n'));
		RETURN NULL;
	END IF;
	FOR msg IN
		SELECT string_agg(line, E'\n' ORDER BY i)
		FROM (SELECT i, line, (sum(octet_length(line) + 1) OVER (ORDER BY i) - 1) / 7400 AS chunk
		      FROM unnest(lines) WITH ORDINALITY AS u(line, i)) AS c
		GROUP BY chunk
		ORDER BY chunk
	LOOP
		PERFORM leo_notify(chan, hdr || msg);
	END LOOP;
	RETURN NULL;
END
$$;

-- leo_control: one compact JSON object per row change (AFTER ROW) of
-- alert_rules, consent_management and tenant.  Rule changes made by the
-- daemon itself (it sets leo.writer = on locally) are not sent: the
-- trigger's WHEN clause (50_triggers.sql) leaves them out.
CREATE OR REPLACE FUNCTION leo_rule_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
	r alert_rules;
BEGIN
	r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
	PERFORM leo_notify('leo_control',
		'{"k":"rule","x":"' || pg_current_xact_id()::text
		|| '","op":"' || left(TG_OP, 1)
		|| '","tenant":"' || r.tenant_id::text
		|| '","rule":' || to_json(r.rule_id)::text
		|| ',"symbol":' || to_json(r.symbol::text)::text
		|| ',"old_symbol":' || CASE WHEN TG_OP = 'INSERT' THEN 'null'
					    ELSE to_json(OLD.symbol::text)::text END
		|| '}');
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION leo_consent_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
	xid text := pg_current_xact_id()::text;
BEGIN
	-- A key change is the old key's end as well.
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.tenant_id, OLD.profile_id, OLD.channel)
				IS DISTINCT FROM (NEW.tenant_id, NEW.profile_id, NEW.channel)) THEN
		PERFORM leo_notify('leo_control',
			'{"k":"consent","x":"' || xid || '","op":"D","tenant":"' || OLD.tenant_id::text
			|| '","profile":' || to_json(OLD.profile_id)::text
			|| ',"channel":"' || OLD.channel::text || '"}');
	END IF;
	IF TG_OP <> 'DELETE' THEN
		PERFORM leo_notify('leo_control',
			'{"k":"consent","x":"' || xid || '","op":"' || left(TG_OP, 1)
			|| '","tenant":"' || NEW.tenant_id::text
			|| '","profile":' || to_json(NEW.profile_id)::text
			|| ',"channel":"' || NEW.channel::text || '"}');
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION leo_tenant_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
	t tenant;
BEGIN
	t := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
	PERFORM leo_notify('leo_control',
		'{"k":"tenant","x":"' || pg_current_xact_id()::text
		|| '","op":"' || left(TG_OP, 1)
		|| '","tenant":"' || t.tenant_id::text
		|| '","status":' || to_json(t.status)::text || '}');
	RETURN NULL;
END
$$;

-- The ids of active tenants, for the daemon, which sees no tenant row without
-- a tenant set.  SECURITY DEFINER: runs as the owner of the schema, whom the
-- tenant_owner_policy (70_rls.sql) lets read the tenant table.
CREATE OR REPLACE FUNCTION leo_active_tenants()
RETURNS SETOF uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
	SELECT tenant_id FROM public.tenant WHERE status = 'active' ORDER BY tenant_id
$$;
REVOKE ALL ON FUNCTION leo_active_tenants() FROM PUBLIC;

-- Create the monthly behavioral_events partitions (UTC months) from the
-- current month to `months_ahead` months ahead; returns how many it created.
-- Rows that already sit in the DEFAULT partition for such a month are moved
-- into the new partition.  Run it from a scheduler (e.g. monthly).
CREATE OR REPLACE FUNCTION behavioral_events_create_partitions(months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	first timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
	lo timestamptz;
	hi timestamptz;
	part text;
	created integer := 0;
BEGIN
	IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
		RAISE EXCEPTION 'months_ahead must be between 0 and 120, not %', months_ahead
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR m IN 0 .. months_ahead LOOP
		lo := (first + make_interval(months => m)) AT TIME ZONE 'UTC';
		hi := (first + make_interval(months => m + 1)) AT TIME ZONE 'UTC';
		part := 'behavioral_events_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
		CONTINUE WHEN to_regclass('public.' || quote_ident(part)) IS NOT NULL;
		EXECUTE format('CREATE TABLE public.%I (LIKE public.behavioral_events '
			       'INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
		EXECUTE format('WITH moved AS (DELETE FROM public.behavioral_events_default '
			       'WHERE occurred_at >= %L AND occurred_at < %L RETURNING *) '
			       'INSERT INTO public.%I SELECT * FROM moved', lo, hi, part);
		EXECUTE format('ALTER TABLE public.behavioral_events ATTACH PARTITION public.%I '
			       'FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
		EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', part);
		EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', part);
		created := created + 1;
	END LOOP;
	RETURN created;
END
$$;

-- This month and the next three exist from the start.
DO $$
BEGIN
	PERFORM behavioral_events_create_partitions(3);
END
$$;
