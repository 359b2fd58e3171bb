-- peer_trigger.sql — peer 1 of the benchmark: alerting done inside
-- PostgreSQL by a row trigger on market_snapshot.  Benchmark only; never
-- part of schema/.
--
-- Per updated row: find the ACTIVE rules of the symbol whose crossing
-- threshold lies between the old and the new price (crosses_above,
-- crosses_below, crosses: the simple threshold rules run.sh loads), mark
-- them (TRIGGERED, or still ACTIVE for REARM), check email consent, write
-- one delivery_log row when it holds and one agent_task row always, and
-- NOTIFY leo_delivery like the daemon does.  It gets the index it needs
-- (symbol, threshold) so the peer is not strawmanned by a sequential scan;
-- it runs as the table owner (superuser here), so RLS costs it nothing.
-- The daemon's notification triggers are disabled: the peer replaces it.
SET client_min_messages = warning;

CREATE INDEX IF NOT EXISTS bench_rules_threshold_idx
	ON alert_rules (symbol, ((condition_logic->>'value')::numeric))
	WHERE status = 'ACTIVE';

CREATE OR REPLACE FUNCTION bench_peer_fire() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.price IS NULL OR OLD.price IS NULL OR NEW.price = OLD.price THEN
		RETURN NULL;
	END IF;
	WITH hit AS (
		UPDATE alert_rules r
		   SET trigger_count = r.trigger_count + 1, last_triggered_at = now(),
		       status = CASE WHEN r.trigger_mode = 'ONCE' THEN 'TRIGGERED'::rule_status
				     ELSE r.status END
		 WHERE r.symbol = NEW.symbol AND r.status = 'ACTIVE'
		   AND (r.condition_logic->>'value')::numeric
			BETWEEN least(OLD.price, NEW.price) AND greatest(OLD.price, NEW.price)
		   AND ((r.condition_logic->>'operator' IN ('crosses_above', 'crosses')
			 AND OLD.price < (r.condition_logic->>'value')::numeric
			 AND (r.condition_logic->>'value')::numeric <= NEW.price)
			OR (r.condition_logic->>'operator' IN ('crosses_below', 'crosses')
			 AND OLD.price > (r.condition_logic->>'value')::numeric
			 AND (r.condition_logic->>'value')::numeric >= NEW.price))
		RETURNING r.rule_id, r.tenant_id, r.profile_id, r.channel, r.trigger_count,
			  r.condition_logic, r.status
	), c AS (
		SELECT h.*, cm.legal_basis, cm.source, cm.granted_at,
		       (cm.status = 'granted' AND (cm.expires_at IS NULL OR cm.expires_at > now()))
			 IS TRUE AS ok
		  FROM hit h
		  LEFT JOIN consent_management cm ON cm.tenant_id = h.tenant_id
		   AND cm.profile_id = h.profile_id AND cm.channel = h.channel
	), d AS (
		INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel,
					  idempotency_key, consent_legal_basis, consent_source,
					  consent_granted_at)
		SELECT c.tenant_id, c.rule_id, c.profile_id, c.channel,
		       c.rule_id || ':' || c.trigger_count, c.legal_basis, c.source, c.granted_at
		  FROM c WHERE c.ok
		RETURNING pg_notify('leo_delivery', tenant_id::text || ' ' || delivery_id)
	)
	INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id, reasoning_trace,
				reasoning_summary)
	SELECT c.rule_id || ':' || c.trigger_count, c.tenant_id, c.profile_id, c.rule_id,
	       jsonb_build_array(
		 jsonb_build_object('step', 'match', 'symbol', NEW.symbol,
				    'condition', c.condition_logic,
				    'observed', jsonb_build_object('price', NEW.price),
				    'previous', jsonb_build_object('price', OLD.price)),
		 jsonb_build_object('step', 'consent', 'result', c.ok,
				    'legal_basis', c.legal_basis),
		 jsonb_build_object('step', 'decision', 'rule_status', c.status,
				    'delivered', c.ok)),
	       format('%s at %s (previously %s) matched rule %s', NEW.symbol, NEW.price,
		      OLD.price, left(c.rule_id, 12))
	  FROM c;
	RETURN NULL;
END
$$;

ALTER TABLE market_snapshot DISABLE TRIGGER market_snapshot_notify_insert;
ALTER TABLE market_snapshot DISABLE TRIGGER market_snapshot_notify_update;
CREATE OR REPLACE TRIGGER bench_peer_fire AFTER UPDATE OF price ON market_snapshot
	FOR EACH ROW EXECUTE FUNCTION bench_peer_fire();
