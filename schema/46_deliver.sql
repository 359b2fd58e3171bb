-- 46_deliver.sql — what leo-deliver does to data (SPEC section 7): claims,
-- the re-check before sending, the message context, attempts and status
-- moves, receipts.  The sender calls only these functions, each in one
-- transaction under one tenant's app.current_tenant_id; RLS applies to
-- everything they touch (SECURITY INVOKER).
--
-- delivery_log stays as leo-alertd writes it (append-only but for the
-- forward-only delivery_status, 40_functions.sql).  What changes while a
-- delivery is being worked lives beside it:
--   delivery_work     one row per delivery in flight or waiting for a
--                     retry: attempts so far, when the next attempt is due,
--                     who holds it until when; created by the first claim,
--                     so leo-alertd's write path pays nothing for it, and
--                     deleted with the final outcome;
--   delivery_attempt  append-only, one row per attempt made, written in the
--                     same transaction as the status move it caused.
-- A claim is a lease: claimed_by and claimed_until.  Two senders never hold
-- one delivery (FOR UPDATE SKIP LOCKED, then the lease); a sender that died
-- loses its claims when their lease runs out.  A sender whose lease ran
-- out finds leo_deliver_record_many refusing its result, so one attempt's
-- outcome is recorded once.
--
-- No foreign keys to delivery_log: its rows are never deleted, the
-- functions below create these rows only for deliveries they found, and a
-- foreign key would turn delivery_log's own refusal of TRUNCATE into a
-- different error.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS delivery_work (
	tenant_id uuid NOT NULL,
	delivery_id bigint NOT NULL,
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	claimed_by text,
	claimed_until timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, delivery_id),
	CHECK ((claimed_by IS NULL) = (claimed_until IS NULL))
);
COMMENT ON TABLE delivery_work IS 'leo-deliver''s claim and retry state of a delivery (46_deliver.sql).';

CREATE TABLE IF NOT EXISTS delivery_attempt (
	tenant_id uuid NOT NULL,
	delivery_id bigint NOT NULL,
	attempt integer NOT NULL CHECK (attempt >= 1),
	started_at timestamptz NOT NULL,
	ended_at timestamptz NOT NULL CHECK (ended_at >= started_at),
	outcome text NOT NULL CHECK (outcome IN ('sent', 'delivered', 'retry', 'failed')),
	status_code integer,
	error text,
	response text CHECK (char_length(response) <= 8192),
	sender text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, delivery_id, attempt)
);
COMMENT ON TABLE delivery_attempt IS 'Every attempt of leo-deliver to send a delivery; append-only.';

CREATE OR REPLACE TRIGGER delivery_attempt_append_only
	BEFORE UPDATE OR DELETE ON delivery_attempt
	FOR EACH ROW EXECUTE FUNCTION leo_append_only();
CREATE OR REPLACE TRIGGER delivery_attempt_no_truncate
	BEFORE TRUNCATE ON delivery_attempt
	FOR EACH STATEMENT EXECUTE FUNCTION leo_append_only();

-- A tenant's queued deliveries, oldest first: what a claim scans, in
-- delivery_id order whatever the channel (a claim's channel is a filter on
-- the queued rows only; without this index the claim walks every delivery
-- the tenant ever had).  Its first shape led with the channel, which a
-- claim could not use: dropped where a database has it.
DROP INDEX IF EXISTS delivery_log_queued;
CREATE INDEX IF NOT EXISTS delivery_log_queued_by_id ON delivery_log (tenant_id, delivery_id)
	WHERE delivery_status = 'queued';

-- condition_logic as a person reads it: "price crosses above 150.5",
-- "all of (price > 10, not (change_percent < -2))".
CREATE OR REPLACE FUNCTION leo_condition_text(c jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, public
AS $$
BEGIN
	IF c ? 'all' OR c ? 'any' THEN
		RETURN CASE WHEN c ? 'all' THEN 'all of (' ELSE 'any of (' END ||
			(SELECT string_agg(leo_condition_text(e), ', ' ORDER BY o)
			   FROM jsonb_array_elements(coalesce(c -> 'all', c -> 'any'))
				WITH ORDINALITY AS x(e, o)) || ')';
	ELSIF c ? 'not' THEN
		RETURN 'not (' || leo_condition_text(c -> 'not') || ')';
	END IF;
	RETURN coalesce(c ->> 'field', 'price') || ' ' || replace(c ->> 'operator', '_', ' ') || ' ' ||
		CASE WHEN c ? 'low' THEN (c ->> 'low') || ' and ' || (c ->> 'high')
		     ELSE c ->> 'value' END ||
		CASE WHEN c ? 'window_seconds' THEN ' % within ' || (c ->> 'window_seconds') || ' s'
		     ELSE '' END;
END
$$;

-- The recipient's address for a channel (SPEC 7): email from primary_email,
-- else an "email:" identity; sms and whatsapp "phone:"; zalo_oa "zalo:";
-- web_push "webpush:".  NULL when the profile has none.  An expression
-- without a subquery and no SET clause, so that the claim's query inlines
-- it: a call of its own cost more than the rest of a claimed row's address
-- and context (it names only pg_catalog's functions, found first).
CREATE OR REPLACE FUNCTION leo_deliver_address(p_channel leo_channel, p_primary_email text,
	p_identities jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
	SELECT CASE WHEN p_channel = 'email' AND nullif(p_primary_email, '') IS NOT NULL
		    THEN p_primary_email
	       WHEN jsonb_typeof(p_identities) = 'array'
	       -- the first identity "prefix:rest" with a non-empty rest, less its prefix
	       THEN regexp_replace(jsonb_path_query_first(p_identities,
			'strict $[*] ? (@ starts with $p && @ != $p)',
			jsonb_object(ARRAY['p', CASE p_channel WHEN 'email' THEN 'email:'
				WHEN 'sms' THEN 'phone:' WHEN 'whatsapp' THEN 'phone:'
				WHEN 'zalo_oa' THEN 'zalo:' WHEN 'web_push' THEN 'webpush:' END]))
			#>> '{}', '^[^:]*:', '')
	       END
$$;

-- Claim up to p_limit due deliveries of the current tenant (active tenants
-- only; a suspended tenant's stay queued) for p_owner, oldest first, and
-- return what sending each needs: the attempt number about to be made, the
-- consent re-checked now (as leo_write_firings checks it), the address, the
-- rule's template of the same channel, and the template context of SPEC 7.
-- p_channel: only that channel's; p_ids: only those deliveries.
CREATE OR REPLACE FUNCTION leo_deliver_claim(p_owner text, p_lease_s integer, p_limit integer,
	p_ids bigint[] DEFAULT NULL, p_channel leo_channel DEFAULT NULL)
RETURNS TABLE (delivery_id bigint, channel leo_channel, idempotency_key text, attempt integer,
	age_s double precision, consent_ok boolean, address text, template_id uuid,
	template_version integer, template_engine text, subject_template text,
	body_template text, context jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
	me constant uuid := nullif(current_setting('app.current_tenant_id', true), '')::uuid;
BEGIN
	IF p_owner IS NULL OR p_owner = '' OR p_lease_s IS NULL OR p_lease_s < 1 THEN
		RAISE EXCEPTION 'leo_deliver_claim: an owner and a positive lease are required'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF me IS NULL OR NOT EXISTS (SELECT 1 FROM tenant t WHERE t.tenant_id = me
				     AND t.status = 'active') THEN
		RETURN;
	END IF;
	RETURN QUERY
	WITH due AS (
		-- the queued rows in delivery_id order, each with one probe of
		-- its work row (not due yet, or held): OFFSET 0 keeps NOT EXISTS
		-- a probe per row, never an anti-join that reads all of
		-- delivery_work and sorts the tenant's queued rows (which the
		-- planner picks once the tables have statistics)
		SELECT d.delivery_id
		  FROM delivery_log d
		 WHERE d.tenant_id = me AND d.delivery_status = 'queued'
		   AND (p_channel IS NULL OR d.channel = p_channel)
		   AND (p_ids IS NULL OR d.delivery_id = ANY (p_ids))
		   AND NOT EXISTS (SELECT FROM delivery_work w
				    WHERE w.tenant_id = me AND w.delivery_id = d.delivery_id
				      AND (w.next_attempt_at > now() OR w.claimed_until >= now())
				   OFFSET 0)
		 ORDER BY d.delivery_id
		 LIMIT greatest(p_limit, 0)
		   FOR UPDATE OF d SKIP LOCKED
	), claimed AS (
		INSERT INTO delivery_work AS w (tenant_id, delivery_id, claimed_by, claimed_until)
		SELECT me, due.delivery_id, p_owner, now() + p_lease_s * interval '1 second'
		  FROM due
		ON CONFLICT (tenant_id, delivery_id) DO UPDATE
		   SET claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until,
		       updated_at = now()
		 -- the latest committed claim, not the snapshot's: a claim made
		 -- since this statement began is not taken over
		 WHERE w.next_attempt_at <= now()
		   AND (w.claimed_until IS NULL OR w.claimed_until < now())
		RETURNING w.delivery_id, w.attempts
	)
	SELECT d.delivery_id, d.channel, d.idempotency_key, c.attempts + 1,
	       extract(epoch FROM now() - d.created_at)::double precision,
	       coalesce(cm.status = 'granted' AND (cm.expires_at IS NULL OR cm.expires_at > now()),
			false),
	       leo_deliver_address(d.channel, p.primary_email::text, p.identities),
	       mt.template_id, mt.version, mt.template_engine, mt.subject_template, mt.body_template,
	       jsonb_strip_nulls(jsonb_build_object(
		'profile', jsonb_build_object('profile_id', d.profile_id,
			'primary_email', p.primary_email, 'living_location', p.living_location,
			'job_titles', coalesce(p.job_titles, '[]'), 'segments', coalesce(p.segments, '[]')),
		'rule', jsonb_build_object('rule_id', d.rule_id, 'symbol', r.symbol,
			'condition', CASE WHEN r.condition_logic IS NOT NULL
				THEN leo_condition_text(r.condition_logic) END,
			'trigger_count', r.trigger_count),
		'tick', jsonb_build_object('symbol', coalesce(r.symbol, m.value ->> 'symbol'),
			'price', (m.value -> 'observed' -> 'price'),
			'previous_price', (m.value -> 'previous' -> 'price'),
			'change_percent', (m.value -> 'observed' -> 'change_percent'),
			'observed_at', m.value -> 'fired_at'),
		'news', CASE WHEN n.news_id IS NOT NULL THEN jsonb_build_object(
			'headline', n.headline, 'source', n.source, 'published_at', n.published_at) END,
		'tenant', jsonb_build_object('tenant_name', tn.tenant_name),
		'delivery', jsonb_build_object('delivery_id', d.delivery_id, 'channel', d.channel,
			'created_at', d.created_at),
		'summary', a.reasoning_summary))
	  FROM claimed c
	  JOIN delivery_log d ON d.tenant_id = me AND d.delivery_id = c.delivery_id
	  JOIN tenant tn ON tn.tenant_id = me
	  LEFT JOIN cdp_profiles p ON p.tenant_id = me AND p.profile_id = d.profile_id
	  LEFT JOIN consent_management cm ON cm.tenant_id = me AND cm.profile_id = d.profile_id
	   AND cm.channel = d.channel
	  LEFT JOIN alert_rules r ON r.tenant_id = me AND r.rule_id = d.rule_id
	  LEFT JOIN message_templates mt ON mt.tenant_id = me AND mt.template_id = r.template_id
	   AND mt.channel = d.channel
	  LEFT JOIN agent_task a ON a.task_id = d.idempotency_key AND a.tenant_id = me
	  LEFT JOIN LATERAL (SELECT s.value FROM jsonb_array_elements(a.reasoning_trace) s
			      WHERE s.value ->> 'step' = 'match' LIMIT 1) m ON true
	  LEFT JOIN news_feed n ON n.news_id = a.related_news_id
	 ORDER BY d.delivery_id;
END
$$;

-- leo_deliver_record for a batch: record k is element k of every array
-- (p_attempts[k] NULL: no attempt row), the same moves, all in the
-- statement's transaction.  Returns the ids recorded; one whose claim
-- p_owner no longer holds is left out, and nothing is written for it.
--
-- Each record's rows are written by statements that name a whole primary
-- key, so that their only plan is one index probe, whatever the planner
-- knows of the tables (nothing while a backlog is worked off: delivery_log
-- was just loaded, delivery_work starts empty).  Set-based statements over
-- the arrays were planned as scans of the tenant's rows (RLS's tenant_id
-- condition is indexable, and its row estimate is a guess) and cost more
-- per record than a statement each.  The attempt rows, which read no table,
-- are one INSERT.  A final outcome deletes the work row: delivery_work
-- holds only the deliveries in flight or waiting for a retry, which keeps
-- the claim's look-up of it small.
CREATE OR REPLACE FUNCTION leo_deliver_record_many(p_owner text, p_ids bigint[],
	p_attempts integer[], p_started timestamptz[], p_ended timestamptz[], p_outcomes text[],
	p_status_codes integer[], p_errors text[], p_responses text[], p_next_at timestamptz[],
	p_provider_responses jsonb[])
RETURNS bigint[]
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	me constant uuid := nullif(current_setting('app.current_tenant_id', true), '')::uuid;
	n constant integer := coalesce(cardinality(p_ids), 0);
	kept bigint[] := '{}';	-- the ids whose claim p_owner holds
	pos integer[] := '{}';	-- their positions in the arrays
BEGIN
	IF EXISTS (SELECT FROM unnest(ARRAY[cardinality(p_attempts), cardinality(p_started),
				  cardinality(p_ended), cardinality(p_outcomes),
				  cardinality(p_status_codes), cardinality(p_errors),
				  cardinality(p_responses), cardinality(p_next_at),
				  cardinality(p_provider_responses)]) c
		    WHERE coalesce(c, 0) <> n)
	THEN
		RAISE EXCEPTION 'leo_deliver_record_many: the arrays differ in length'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM unnest(p_outcomes) o
		    WHERE o IS NULL OR o NOT IN ('sent', 'delivered', 'retry', 'failed')) THEN
		RAISE EXCEPTION 'leo_deliver_record_many: unknown outcome in %', p_outcomes
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN 1 .. n LOOP
		-- the claim, if still held (the latest version of the row is
		-- checked: a claim taken over since is not ours): a final outcome
		-- deletes it; a retry counts its attempt, is due at p_next_at and
		-- released
		IF p_outcomes[k] = 'retry' THEN
			UPDATE delivery_work dw
			   SET attempts = dw.attempts + CASE WHEN p_attempts[k] IS NULL THEN 0 ELSE 1 END,
			       next_attempt_at = coalesce(p_next_at[k], now()),
			       claimed_by = NULL, claimed_until = NULL, updated_at = now()
			 WHERE dw.tenant_id = me AND dw.delivery_id = p_ids[k]
			   AND dw.claimed_by = p_owner AND dw.claimed_until >= now();
		ELSE
			DELETE FROM delivery_work dw
			 WHERE dw.tenant_id = me AND dw.delivery_id = p_ids[k]
			   AND dw.claimed_by = p_owner AND dw.claimed_until >= now();
		END IF;
		CONTINUE WHEN NOT FOUND;
		kept := kept || p_ids[k];
		pos := pos || k;
		CONTINUE WHEN p_outcomes[k] = 'retry';
		-- sent and delivered: queued -> sent; failed: queued or sent -> failed
		UPDATE delivery_log d
		   SET delivery_status = CASE WHEN p_outcomes[k] = 'failed' THEN 'failed'::delivery_status
					      ELSE 'sent'::delivery_status END,
		       provider_response = p_provider_responses[k], updated_at = now()
		 WHERE d.delivery_id = p_ids[k] AND d.tenant_id = me
		   AND CASE WHEN p_outcomes[k] = 'failed' THEN d.delivery_status IN ('queued', 'sent')
			    ELSE d.delivery_status = 'queued' END;
		-- delivered: then sent -> delivered (a second move: the guard
		-- allows no skipping)
		IF FOUND AND p_outcomes[k] = 'delivered' THEN
			UPDATE delivery_log d SET delivery_status = 'delivered', updated_at = now()
			 WHERE d.delivery_id = p_ids[k] AND d.tenant_id = me
			   AND d.delivery_status = 'sent';
		END IF;
	END LOOP;
	INSERT INTO delivery_attempt (tenant_id, delivery_id, attempt, started_at, ended_at, outcome,
				      status_code, error, response, sender)
	SELECT me, p_ids[k], p_attempts[k], p_started[k], p_ended[k], p_outcomes[k],
	       p_status_codes[k], p_errors[k], left(p_responses[k], 8192), p_owner
	  FROM unnest(pos) AS k
	 WHERE p_attempts[k] IS NOT NULL;
	RETURN kept;
END
$$;

-- Record one attempt of a claimed delivery and its status move, in one go:
-- the attempt row (p_attempt NULL: none, a failure without a send such as
-- consent_withdrawn), then for p_outcome
--   sent       queued -> sent
--   delivered  queued -> sent -> delivered
--   failed     -> failed
--   retry      stays queued; attempts + 1, due at p_next_at
-- with provider_response = p_provider_response, and the claim released.
-- False, and nothing written, when p_owner no longer holds the claim.
-- A batch of one of leo_deliver_record_many, which the sender calls.
CREATE OR REPLACE FUNCTION leo_deliver_record(p_owner text, p_delivery_id bigint,
	p_attempt integer, p_started timestamptz, p_ended timestamptz, p_outcome text,
	p_status_code integer, p_error text, p_response text, p_next_at timestamptz,
	p_provider_response jsonb)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, public
AS $$
	SELECT cardinality(leo_deliver_record_many(p_owner, ARRAY[p_delivery_id], ARRAY[p_attempt],
		ARRAY[p_started], ARRAY[p_ended], ARRAY[p_outcome], ARRAY[p_status_code],
		ARRAY[p_error], ARRAY[p_response], ARRAY[p_next_at], ARRAY[p_provider_response])) = 1
$$;

-- Give claims back untouched (a sender stopping, a channel without a
-- transport); the number released.
CREATE OR REPLACE FUNCTION leo_deliver_release(p_owner text, p_ids bigint[])
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, public
AS $$
	WITH r AS (
		UPDATE delivery_work dw SET claimed_by = NULL, claimed_until = NULL, updated_at = now()
		 WHERE dw.tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid
		   AND dw.delivery_id = ANY (p_ids) AND dw.claimed_by = p_owner
		RETURNING 1
	)
	SELECT count(*)::integer FROM r
$$;

-- A provider's receipt: a sent delivery of the current tenant moves to
-- delivered or failed.  'ok'; 'unknown' (no such delivery of this tenant);
-- 'conflict' (it is not sent, or the status is not one a receipt sets:
-- nothing changed).
CREATE OR REPLACE FUNCTION leo_deliver_receipt(p_delivery_id bigint, p_status delivery_status,
	p_provider_response jsonb)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	me constant uuid := nullif(current_setting('app.current_tenant_id', true), '')::uuid;
	cur delivery_status;
BEGIN
	SELECT d.delivery_status INTO cur FROM delivery_log d
	 WHERE d.tenant_id = me AND d.delivery_id = p_delivery_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN 'unknown';
	END IF;
	IF cur <> 'sent' OR p_status NOT IN ('delivered', 'failed') THEN
		RETURN 'conflict';
	END IF;
	UPDATE delivery_log SET delivery_status = p_status,
	       provider_response = coalesce(p_provider_response, provider_response),
	       updated_at = now()
	 WHERE tenant_id = me AND delivery_id = p_delivery_id;
	RETURN 'ok';
END
$$;

-- The current tenant's queued deliveries per channel and the oldest one's
-- age in seconds (the sender's leo_deliver_queued and
-- leo_deliver_oldest_queued_seconds).
CREATE OR REPLACE FUNCTION leo_deliver_backlog()
RETURNS TABLE (channel leo_channel, queued bigint, oldest_s double precision)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, public
AS $$
	SELECT d.channel, count(*), extract(epoch FROM now() - min(d.created_at))::double precision
	  FROM delivery_log d
	 WHERE d.tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid
	   AND d.delivery_status = 'queued'
	 GROUP BY d.channel
$$;

REVOKE ALL ON FUNCTION leo_deliver_claim(text, integer, integer, bigint[], leo_channel),
	leo_deliver_record(text, bigint, integer, timestamptz, timestamptz, text, integer, text,
		text, timestamptz, jsonb),
	leo_deliver_release(text, bigint[]), leo_deliver_receipt(bigint, delivery_status, jsonb),
	leo_deliver_backlog() FROM PUBLIC;

REVOKE ALL ON FUNCTION leo_deliver_record_many(text, bigint[], integer[], timestamptz[],
	timestamptz[], text[], integer[], text[], text[], timestamptz[], jsonb[]) FROM PUBLIC;
