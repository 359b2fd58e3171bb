WITH moved AS (
	SELECT s.symbol, s.price AS prev, m.price AS cur
	  FROM bench_poll_state s JOIN market_snapshot m ON m.symbol = s.symbol
	 WHERE m.price IS DISTINCT FROM s.price
), seen AS (
	UPDATE bench_poll_state s SET price = mv.cur FROM moved mv WHERE s.symbol = mv.symbol
), hit AS (
	UPDATE alert_rules r
	   SET trigger_count = r.trigger_count + 1, last_triggered_at = now(),
	       status = CASE WHEN r.trigger_mode = 'ONCE' THEN 'TRIGGERED'::rule_status
			     ELSE r.status END
	  FROM moved mv
	 WHERE r.symbol = mv.symbol AND r.status = 'ACTIVE'
	   AND (r.condition_logic->>'value')::numeric
		BETWEEN least(mv.prev, mv.cur) AND greatest(mv.prev, mv.cur)
	   AND ((r.condition_logic->>'operator' IN ('crosses_above', 'crosses')
		 AND mv.prev < (r.condition_logic->>'value')::numeric
		 AND (r.condition_logic->>'value')::numeric <= mv.cur)
		OR (r.condition_logic->>'operator' IN ('crosses_below', 'crosses')
		 AND mv.prev > (r.condition_logic->>'value')::numeric
		 AND (r.condition_logic->>'value')::numeric >= mv.cur))
	RETURNING r.rule_id, r.tenant_id, r.profile_id, r.channel, r.trigger_count,
		  r.condition_logic, r.status, r.symbol, mv.prev, mv.cur
), c AS (
	SELECT h.*, cm.legal_basis, cm.source, cm.granted_at,
	       (cm.status = 'granted' AND (cm.expires_at IS NULL OR cm.expires_at > now()))
		 IS TRUE AS ok
	  FROM hit h
	  LEFT JOIN consent_management cm ON cm.tenant_id = h.tenant_id
	   AND cm.profile_id = h.profile_id AND cm.channel = h.channel
), d AS (
	INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key,
				  consent_legal_basis, consent_source, consent_granted_at)
	SELECT c.tenant_id, c.rule_id, c.profile_id, c.channel,
	       c.rule_id || ':' || c.trigger_count, c.legal_basis, c.source, c.granted_at
	  FROM c WHERE c.ok
	RETURNING pg_notify('leo_delivery', tenant_id::text || ' ' || delivery_id)
)
INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id, reasoning_trace,
			reasoning_summary)
SELECT c.rule_id || ':' || c.trigger_count, c.tenant_id, c.profile_id, c.rule_id,
       jsonb_build_array(
	 jsonb_build_object('step', 'match', 'symbol', c.symbol, 'condition', c.condition_logic,
			    'observed', jsonb_build_object('price', c.cur),
			    'previous', jsonb_build_object('price', c.prev)),
	 jsonb_build_object('step', 'consent', 'result', c.ok, 'legal_basis', c.legal_basis),
	 jsonb_build_object('step', 'decision', 'rule_status', c.status, 'delivered', c.ok)),
       format('%s at %s (previously %s) matched rule %s', c.symbol, c.cur, c.prev,
	      left(c.rule_id, 12))
  FROM c;
