-- 60_indexes.sql — secondary indexes.  Primary keys and unique constraints
-- are in 30_tables.sql; HNSW indexes exist only with pgvector.

SET client_min_messages = warning;

-- Identity and segment lookups (jsonb_ops: ?, ?|, @>).
CREATE INDEX IF NOT EXISTS cdp_profiles_identities_gin ON cdp_profiles USING gin (identities);
CREATE INDEX IF NOT EXISTS cdp_profiles_segments_gin ON cdp_profiles USING gin (segments);
CREATE INDEX IF NOT EXISTS cdp_profiles_primary_email_idx ON cdp_profiles (tenant_id, primary_email);

-- Rules by symbol.  No predicate on status: an index that names a column
-- makes every UPDATE that changes it a non-HOT one, and the daemon's claim
-- moves a ONCE rule from ACTIVE to TRIGGERED (a HOT update writes no index
-- entry; with the table's fillfactor, 30_tables.sql, the new version finds
-- room on its page).  An older schema's partial index is replaced.
DROP INDEX IF EXISTS alert_rules_active_symbol_idx;
CREATE INDEX IF NOT EXISTS alert_rules_symbol_idx ON alert_rules (symbol);
CREATE INDEX IF NOT EXISTS alert_rules_profile_idx ON alert_rules (tenant_id, profile_id);

-- News about a symbol, newest first (agent_task.related_news_id).
CREATE INDEX IF NOT EXISTS news_feed_related_symbols_gin ON news_feed USING gin (related_symbols);
CREATE INDEX IF NOT EXISTS news_feed_published_at_idx ON news_feed (published_at);

CREATE INDEX IF NOT EXISTS delivery_log_tenant_created_idx ON delivery_log (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS delivery_log_rule_idx ON delivery_log (rule_id);
CREATE INDEX IF NOT EXISTS agent_task_tenant_created_idx ON agent_task (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS agent_task_rule_idx ON agent_task (rule_id);
CREATE INDEX IF NOT EXISTS behavioral_events_profile_idx
	ON behavioral_events (tenant_id, profile_id, occurred_at);
CREATE INDEX IF NOT EXISTS embedding_job_queued_idx ON embedding_job (created_at)
	WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS embedding_job_profile_idx ON embedding_job (tenant_id, profile_id);
CREATE INDEX IF NOT EXISTS marketing_event_campaign_idx ON marketing_event (tenant_id, campaign_id);

-- Cosine-similarity search over embeddings (HNSW), when they are vectors.
DO $$
DECLARE
	c record;
	vschema name;
BEGIN
	FOR c IN
		SELECT * FROM (VALUES
			('news_feed', 'content_embedding', 'news_feed_content_embedding_hnsw'),
			('cdp_profiles', 'interest_embedding', 'cdp_profiles_interest_embedding_hnsw')
		) AS v(tab, col, idx)
	LOOP
		SELECT n.nspname INTO vschema
		FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
			JOIN pg_namespace n ON n.oid = ty.typnamespace
		WHERE a.attrelid = ('public.' || c.tab)::regclass
		  AND a.attname = c.col AND ty.typname = 'vector';
		IF FOUND THEN
			EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON public.%I '
				       'USING hnsw (%I %I.vector_cosine_ops)', c.idx, c.tab, c.col, vschema);
		END IF;
	END LOOP;
END
$$;
