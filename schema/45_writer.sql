-- 45_writer.sql — what a firing becomes: leo_reason, the reason codes, and
-- leo_write_firings(), the one statement by which leo-alertd writes a batch
-- of one tenant's firings.  The daemon binds arrays and reads the outcome by
-- column name; the consent rule, the news window, the trace and the summary
-- live here, beside the tables they read and write.
--
-- The caller has set app.current_tenant_id to p_tenant in its transaction:
-- the function runs with the caller's rights (SECURITY INVOKER), so
-- row-level security and the one-tenant-per-transaction guard (70_rls.sql)
-- hold exactly as for any statement of the daemon.

SET client_min_messages = warning;

-- Why a firing was not delivered.  The same codes are the values of the
-- trace's "reason", of leo_write_firings()' reason column and of the
-- reason label of leo_deliveries_suppressed_total; a test compares this
-- table with the daemon's metrics.  `summary` ends the agent_task summary:
-- a format() string over %1$s channel, %2$s legal basis, %3$s consent
-- expiry, %4$s rule id (12 characters), %5$s price.  written: whether the
-- firing leaves an agent_task row.
CREATE TABLE IF NOT EXISTS leo_reason (
	code text PRIMARY KEY CHECK (code ~ '^[a-z_]+$'),
	written boolean NOT NULL,
	summary text,
	description text NOT NULL,
	CHECK (written = (summary IS NOT NULL))
);
COMMENT ON TABLE leo_reason IS
	'Reason codes of a firing that was not delivered; shared by agent_task traces, leo_write_firings() and the daemon''s metrics.';
INSERT INTO leo_reason (code, written, summary, description) VALUES
	('consent_missing', true, 'there is no %1$s consent on record, so nothing was sent',
	 'no consent_management row for the profile and channel'),
	('consent_revoked', true, '%1$s consent was revoked, so nothing was sent',
	 'the consent row is not granted'),
	('consent_expired', true, '%1$s consent expired at %3$s, so nothing was sent',
	 'the consent row expired at or before the write'),
	('flood_guard', true, 'the flood guard paused the rule and nothing was sent',
	 'the rule fired more than its flood limit allows; the firing paused it'),
	('rule_deleted', true, 'Rule %4$s matched at %5$s but was deleted before the alert was written; nothing was sent.',
	 'the rule was deleted between the price change and the write'),
	('already_claimed', false, NULL,
	 'the firing was written before (by this or another daemon); nothing new was written')
ON CONFLICT (code) DO UPDATE SET written = excluded.written, summary = excluded.summary,
	description = excluded.description;

-- Write one tenant's firings: claim each rule's next firing (only while its
-- trigger_count is seq - 1, so a retried or duplicated firing matches
-- nothing), check consent, pick the newest news item on the symbol of the
-- 24 hours up to the firing (looked up once per symbol of the batch: a
-- storm fires many rules of few symbols), and write the delivery_log row
-- (consent holding) and the agent_task row (always).  A firing of a rule
-- that no longer exists gets an agent_task row saying so.
--
-- No NOTIFY here: the daemon announces the deliveries on leo_delivery after
-- this transaction committed, in a transaction of its own (src/alertd/
-- wsql.c).  A NOTIFY holds PostgreSQL's one notification lock from the
-- commit through its WAL flush, so a firing's transaction that notified
-- queued behind every notifying price change and held every later one back
-- for its own flush.
--
-- Arrays, one element per firing: p_ord is the caller's index, returned as
-- ord; p_kind 'F' fire or 'P' flood pause; p_at_us the firing time in
-- microseconds since the epoch; prices and change percents, prev NULL when
-- unknown.  One row per firing comes back, in ord order:
--   claimed    the firing was new (false: written before, nothing done)
--   reason     leo_reason code, NULL when delivered
--   delivered  a delivery_log row was written
--   tasked     an agent_task row was written
--   delivery_id  the delivery_log row written, NULL when none
DROP FUNCTION IF EXISTS leo_write_firings(uuid, integer[], text[], bigint[], bigint[], text[],
	numeric[], numeric[], numeric[], numeric[]);
CREATE FUNCTION leo_write_firings(p_tenant uuid, p_ord integer[],
	p_rule_id text[], p_seq bigint[], p_at_us bigint[], p_kind text[],
	p_prev_price numeric[], p_cur_price numeric[], p_prev_chg numeric[],
	p_cur_chg numeric[])
RETURNS TABLE (ord integer, claimed boolean, reason text, delivered boolean, tasked boolean,
	delivery_id bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	WITH f AS (
		SELECT * FROM unnest(p_ord, p_rule_id, p_seq, p_at_us, p_kind, p_prev_price,
				     p_cur_price, p_prev_chg, p_cur_chg)
			AS f(ord, rule_id, seq, at_us, kind, prev_price, cur_price, prev_chg, cur_chg)
	), claimed AS (
		UPDATE alert_rules r
		   SET trigger_count = f.seq,
		       last_triggered_at = timestamptz 'epoch' + f.at_us * interval '1 microsecond',
		       updated_at = now(),
		       status = CASE WHEN f.kind = 'P' THEN 'PAUSED'::rule_status
				     WHEN r.trigger_mode = 'ONCE' THEN 'TRIGGERED'::rule_status
				     ELSE r.status END
		  FROM f
		 WHERE r.rule_id = f.rule_id AND r.trigger_count = f.seq - 1
		RETURNING f.ord, f.rule_id, f.seq, f.kind, f.prev_price, f.cur_price,
			  f.prev_chg, f.cur_chg,
			  timestamptz 'epoch' + f.at_us * interval '1 microsecond' AS fired_at,
			  r.profile_id, r.channel, r.marketing_event_id, r.symbol, r.condition_logic,
			  r.trigger_mode, r.status
	), span AS MATERIALIZED (
		SELECT symbol, min(fired_at) AS lo, max(fired_at) AS hi FROM claimed GROUP BY symbol
	), news AS MATERIALIZED (
		-- per symbol of the batch, once: the newest item up to its first
		-- firing and every item between its first and last, which holds
		-- each firing's newest item of its 24 hours
		SELECT sp.symbol, n.news_id, n.published_at
		  FROM span sp
		 CROSS JOIN LATERAL (
			(SELECT n1.news_id, n1.published_at FROM news_feed n1
			  WHERE n1.related_symbols @> ARRAY[sp.symbol]
			    AND n1.published_at <= sp.lo
			    AND n1.published_at > sp.lo - interval '24 hours'
			  ORDER BY n1.published_at DESC, n1.news_id DESC LIMIT 1)
			UNION ALL
			SELECT n2.news_id, n2.published_at FROM news_feed n2
			 WHERE n2.related_symbols @> ARRAY[sp.symbol]
			   AND n2.published_at > sp.lo AND n2.published_at <= sp.hi) n
	), c AS (
		SELECT cl.*, cm.status AS consent_status, cm.legal_basis,
		       cm.source AS consent_source, cm.granted_at,
		       cm.expires_at AS consent_expires_at,
		       CASE WHEN cl.kind = 'P' THEN 'flood_guard'
			    WHEN cm.status IS NULL THEN 'consent_missing'
			    WHEN cm.status <> 'granted' THEN 'consent_revoked'
			    WHEN cm.expires_at IS NOT NULL AND cm.expires_at <= now() THEN 'consent_expired'
		       END AS reason,
		       CASE WHEN cm.status IS NULL THEN 'missing'
			    WHEN cm.status <> 'granted' THEN 'revoked'
			    WHEN cm.expires_at IS NOT NULL AND cm.expires_at <= now() THEN 'expired'
			    ELSE 'granted' END AS consent_result,
		       (SELECT n.news_id FROM news n
			 WHERE n.symbol = cl.symbol
			   AND n.published_at <= cl.fired_at
			   AND n.published_at > cl.fired_at - interval '24 hours'
			 ORDER BY n.published_at DESC, n.news_id DESC LIMIT 1) AS news_id
		  FROM claimed cl
		  LEFT JOIN consent_management cm ON cm.tenant_id = p_tenant
		   AND cm.profile_id = cl.profile_id AND cm.channel = cl.channel
	), d AS (
		INSERT INTO delivery_log (tenant_id, event_id, rule_id, profile_id, channel,
					  delivery_status, idempotency_key, consent_legal_basis,
					  consent_source, consent_granted_at)
		SELECT p_tenant, c.marketing_event_id, c.rule_id, c.profile_id, c.channel,
		       'queued', c.rule_id || ':' || c.seq, c.legal_basis, c.consent_source,
		       c.granted_at
		  FROM c WHERE c.reason IS NULL
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING idempotency_key, delivery_id
	), t AS (
		INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id,
					reasoning_trace, reasoning_summary, related_news_id)
		SELECT c.rule_id || ':' || c.seq, p_tenant, c.profile_id, c.rule_id,
		       jsonb_build_array(
			jsonb_build_object('step', 'match', 'symbol', c.symbol,
			 'condition', c.condition_logic,
			 'observed', jsonb_build_object('price', c.cur_price,
							'change_percent', c.cur_chg),
			 'previous', CASE WHEN c.prev_price IS NULL THEN NULL ELSE
			   jsonb_build_object('price', c.prev_price, 'change_percent', c.prev_chg) END,
			 'trigger_mode', c.trigger_mode, 'firing', c.seq, 'fired_at', c.fired_at),
			jsonb_build_object('step', 'consent', 'channel', c.channel,
			 'result', c.consent_result, 'legal_basis', c.legal_basis,
			 'source', c.consent_source, 'granted_at', c.granted_at,
			 'expires_at', c.consent_expires_at),
			jsonb_build_object('step', 'decision',
			 'action', CASE WHEN c.kind = 'P' THEN 'pause' WHEN c.reason IS NULL
				   THEN 'deliver' ELSE 'suppress' END,
			 'reason', c.reason, 'rule_status', c.status)),
		       format('%s at %s%s matched rule %s for profile %s; %s.',
			c.symbol, c.cur_price,
			CASE WHEN c.prev_price IS NULL THEN ' (checked when the rule was loaded)'
			     ELSE format(' (previously %s)', c.prev_price) END,
			left(c.rule_id, 12), c.profile_id,
			CASE WHEN c.reason IS NULL
			     THEN format('%s consent is granted (%s), so the alert was queued',
					 c.channel, c.legal_basis)
			     ELSE format(lr.summary, c.channel, c.legal_basis, c.consent_expires_at,
					 left(c.rule_id, 12), c.cur_price) END),
		       c.news_id
		  FROM c LEFT JOIN leo_reason lr ON lr.code = c.reason
		ON CONFLICT (task_id) DO NOTHING
		RETURNING task_id
	), g AS (
		INSERT INTO agent_task (task_id, tenant_id, rule_id, reasoning_trace,
					reasoning_summary)
		SELECT f.rule_id || ':' || f.seq, p_tenant, f.rule_id,
		       jsonb_build_array(
			jsonb_build_object('step', 'match', 'observed',
			 jsonb_build_object('price', f.cur_price, 'change_percent', f.cur_chg),
			 'previous', CASE WHEN f.prev_price IS NULL THEN NULL ELSE
			   jsonb_build_object('price', f.prev_price, 'change_percent', f.prev_chg) END,
			 'firing', f.seq,
			 'fired_at', timestamptz 'epoch' + f.at_us * interval '1 microsecond'),
			jsonb_build_object('step', 'decision', 'action', 'suppress',
			 'reason', lr.code)),
		       format(lr.summary, NULL, NULL, NULL, left(f.rule_id, 12), f.cur_price)
		  FROM f JOIN leo_reason lr ON lr.code = 'rule_deleted'
		 WHERE NOT EXISTS (SELECT 1 FROM alert_rules r WHERE r.rule_id = f.rule_id)
		ON CONFLICT (task_id) DO NOTHING
		RETURNING task_id
	)
	SELECT f.ord, c.ord IS NOT NULL OR g.task_id IS NOT NULL,
	       coalesce(c.reason, CASE WHEN g.task_id IS NOT NULL THEN 'rule_deleted'
				       WHEN c.ord IS NULL THEN 'already_claimed' END),
	       d.idempotency_key IS NOT NULL, t.task_id IS NOT NULL OR g.task_id IS NOT NULL,
	       d.delivery_id
	  FROM f
	  LEFT JOIN c ON c.ord = f.ord
	  LEFT JOIN d ON d.idempotency_key = f.rule_id || ':' || f.seq
	  LEFT JOIN t ON t.task_id = f.rule_id || ':' || f.seq
	  LEFT JOIN g ON g.task_id = f.rule_id || ':' || f.seq
	 ORDER BY f.ord;
END
$$;
REVOKE ALL ON FUNCTION leo_write_firings(uuid, integer[], text[], bigint[], bigint[], text[],
	numeric[], numeric[], numeric[], numeric[]) FROM PUBLIC;

-- Rules whose expires_at passed while ACTIVE, as the daemon saw at a tick.
CREATE OR REPLACE FUNCTION leo_expire_rules(p_rule_id text[])
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, public
AS $$
	UPDATE alert_rules SET status = 'EXPIRED', updated_at = now()
	 WHERE rule_id = ANY(p_rule_id) AND status = 'ACTIVE'
$$;
REVOKE ALL ON FUNCTION leo_expire_rules(text[]) FROM PUBLIC;
