-- 30_tables.sql — the fourteen tables of the LEO schema (Database Technical
-- Reference v2.0, plus the columns SPEC section 2 adds).
--
-- Tenant-owned tables carry tenant_id and keys that start with it; row-level
-- security on them is in 70_rls.sql.  market_snapshot and news_feed are
-- global.  Every table has created_at, every mutable one updated_at (kept by
-- update_timestamp(), 50_triggers.sql).  Partitions: marketing_event by hash
-- of tenant_id (16), behavioral_events by month of occurred_at (created ahead
-- by behavioral_events_create_partitions(), 40_functions.sql, plus a DEFAULT
-- partition).  Embedding columns are added at the end of this file, as
-- vector(1536) when pgvector is installed, else real[] of 1536 elements.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS tenant (
	tenant_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	tenant_name text NOT NULL CHECK (tenant_name <> ''),
	keycloak_realm text,
	keycloak_client_id text,
	metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
	status text NOT NULL DEFAULT 'active'
		CHECK (status IN ('active', 'suspended', 'archived')),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT tenant_realm_name_key UNIQUE NULLS NOT DISTINCT (keycloak_realm, tenant_name)
);
COMMENT ON TABLE tenant IS 'Root of multi-tenancy; one row per Keycloak tenant. Active when status = ''active''.';

CREATE TABLE IF NOT EXISTS cdp_profiles (
	tenant_id uuid NOT NULL REFERENCES tenant (tenant_id),
	profile_id text NOT NULL CHECK (char_length(profile_id) BETWEEN 1 AND 200),
	identities jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(identities) = 'array'),
	primary_email citext,
	living_location text,
	job_titles jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(job_titles) = 'array'),
	segments jsonb NOT NULL DEFAULT '[]',
	segment_snapshots jsonb NOT NULL DEFAULT '[]'
		CHECK (jsonb_typeof(segment_snapshots) = 'array'),
	portfolio_snapshot jsonb NOT NULL DEFAULT '{}',
	portfolio_risk_score numeric(3, 2) CHECK (portfolio_risk_score BETWEEN 0 AND 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, profile_id)
);
COMMENT ON TABLE cdp_profiles IS 'Unified customer profile. segment_snapshots is an append-only JSON array (prevent_snapshot_removal).';

CREATE TABLE IF NOT EXISTS campaign (
	tenant_id uuid NOT NULL REFERENCES tenant (tenant_id),
	campaign_id text NOT NULL CHECK (campaign_id <> ''),
	campaign_code text NOT NULL CHECK (campaign_code <> ''),
	campaign_name text,
	objective text NOT NULL DEFAULT 'AWARENESS' CHECK (objective ~ '^[A-Z][A-Z_]*$'),
	status text NOT NULL DEFAULT 'draft'
		CHECK (status IN ('draft', 'active', 'paused', 'completed', 'archived')),
	starts_at timestamptz,
	ends_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, campaign_id),
	CONSTRAINT campaign_code_key UNIQUE (tenant_id, campaign_code),
	CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at)
);

CREATE TABLE IF NOT EXISTS marketing_event (
	tenant_id uuid NOT NULL REFERENCES tenant (tenant_id),
	marketing_event_id text NOT NULL CHECK (marketing_event_id <> ''),
	campaign_id text,
	event_name text,
	description text,
	event_type text NOT NULL DEFAULT 'TRIGGER'
		CHECK (event_type IN ('BROADCAST', 'TRIGGER', 'API')),
	event_channel text NOT NULL DEFAULT 'EMAIL'
		CHECK (event_channel IN ('EMAIL', 'SMS', 'PUSH', 'ZALO_OA', 'WHATSAPP')),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, marketing_event_id),
	FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaign (tenant_id, campaign_id)
) PARTITION BY HASH (tenant_id);

DO $$
BEGIN
	FOR i IN 0 .. 15 LOOP
		EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.marketing_event '
			       'FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
			       'marketing_event_p' || lpad(i::text, 2, '0'), i);
	END LOOP;
END
$$;

CREATE TABLE IF NOT EXISTS message_templates (
	tenant_id uuid NOT NULL REFERENCES tenant (tenant_id),
	template_id uuid NOT NULL DEFAULT gen_random_uuid(),
	template_name text,
	channel leo_channel NOT NULL,
	subject_template text,
	body_template text NOT NULL,
	template_engine text NOT NULL DEFAULT 'jinja2'
		CHECK (template_engine IN ('jinja2', 'liquid', 'handlebars')),
	version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, template_id)
);

-- tenant_id NULL: a global instrument, visible to every tenant.
CREATE TABLE IF NOT EXISTS instruments (
	instrument_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id uuid REFERENCES tenant (tenant_id),
	symbol varchar(64) NOT NULL
		CHECK (char_length(symbol) BETWEEN 1 AND 64 AND symbol !~ '[\x01-\x1f\x7f-\x9f]'),
	type varchar(16) NOT NULL DEFAULT 'STOCK' CHECK (type IN ('STOCK', 'CRYPTO', 'FX')),
	name text,
	currency char(3),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT instruments_tenant_symbol_key UNIQUE NULLS NOT DISTINCT (tenant_id, symbol)
);

-- Real-time prices.  The text forms of price and change_percent are bounded
-- (and finite), so each notification line (50_triggers.sql) stays short.
CREATE TABLE IF NOT EXISTS market_snapshot (
	symbol varchar(64) PRIMARY KEY
		CONSTRAINT market_snapshot_symbol_check
		CHECK (char_length(symbol) BETWEEN 1 AND 64 AND symbol !~ '[\x01-\x1f\x7f-\x9f]'),
	price numeric CONSTRAINT market_snapshot_price_check
		CHECK (length(price::text) <= 40
		       AND price NOT IN ('NaN', 'Infinity', '-Infinity')),
	change_percent numeric CONSTRAINT market_snapshot_change_percent_check
		CHECK (length(change_percent::text) <= 40
		       AND change_percent NOT IN ('NaN', 'Infinity', '-Infinity')),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS alert_rules (
	rule_id text PRIMARY KEY CHECK (rule_id ~ '^[0-9a-f]{64}$'),
	tenant_id uuid NOT NULL,
	profile_id text NOT NULL,
	symbol varchar(64) NOT NULL
		CONSTRAINT alert_rules_symbol_check
		CHECK (char_length(symbol) BETWEEN 1 AND 64 AND symbol !~ '[\x01-\x1f\x7f-\x9f]'),
	condition_logic jsonb NOT NULL,	-- validated by leo_rule_before()
	source alert_source NOT NULL DEFAULT 'USER_MANUAL',
	status rule_status NOT NULL DEFAULT 'ACTIVE',
	channel leo_channel NOT NULL DEFAULT 'email',
	template_id uuid,
	marketing_event_id text,
	trigger_mode trigger_mode NOT NULL DEFAULT 'ONCE',
	cooldown_seconds integer NOT NULL DEFAULT 0 CHECK (cooldown_seconds >= 0),
	rearm_hysteresis numeric NOT NULL DEFAULT 0
		CHECK (rearm_hysteresis >= 0 AND rearm_hysteresis < 1000000000000
		       AND scale(rearm_hysteresis) <= 8),
	expires_at timestamptz,
	last_triggered_at timestamptz,
	trigger_count bigint NOT NULL DEFAULT 0 CHECK (trigger_count >= 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (tenant_id, profile_id) REFERENCES cdp_profiles (tenant_id, profile_id)
		ON DELETE CASCADE
);
-- Every firing updates its rule's row (trigger_count, last_triggered_at,
-- status): room on each page keeps those updates HOT (no index entries).
ALTER TABLE alert_rules SET (fillfactor = 80);
COMMENT ON COLUMN alert_rules.rule_id IS
	'sha256 hex of tenant_id, profile_id, symbol and condition_logic::text joined by U+001F; computed when NULL.';

-- Global market news; related_symbols names the instruments it is about.
CREATE TABLE IF NOT EXISTS news_feed (
	news_id bigserial PRIMARY KEY,
	headline text NOT NULL,
	body text,
	source text,
	published_at timestamptz NOT NULL DEFAULT now(),
	related_symbols varchar(64)[] NOT NULL DEFAULT '{}',
	sentiment_score numeric(3, 2) CHECK (sentiment_score BETWEEN 0 AND 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- Append-only (50_triggers.sql).  No foreign key to alert_rules or news_feed:
-- the trail outlives the rules and news it mentions.
CREATE TABLE IF NOT EXISTS agent_task (
	task_id text PRIMARY KEY CHECK (task_id <> ''),
	tenant_id uuid NOT NULL REFERENCES tenant (tenant_id),
	profile_id text,
	rule_id text,
	reasoning_trace jsonb NOT NULL,
	reasoning_summary text NOT NULL,
	related_news_id bigint,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- Append-only except for the forward-only delivery_status (50_triggers.sql).
CREATE TABLE IF NOT EXISTS delivery_log (
	delivery_id bigserial PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenant (tenant_id),
	event_id text,
	rule_id text,
	profile_id text NOT NULL,
	channel leo_channel NOT NULL,
	delivery_status delivery_status NOT NULL DEFAULT 'queued',
	provider_response jsonb,
	idempotency_key text NOT NULL CONSTRAINT delivery_log_idempotency_key_key UNIQUE,
	consent_legal_basis consent_legal_basis,
	consent_source text,
	consent_granted_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- User reactions; rows are never updated (50_triggers.sql).
CREATE TABLE IF NOT EXISTS behavioral_events (
	event_id bigserial NOT NULL,
	tenant_id uuid NOT NULL,
	profile_id text NOT NULL,
	event_type text NOT NULL CHECK (event_type IN ('VIEW', 'CLICK', 'CONVERT')),
	entity_type text NOT NULL CHECK (entity_type IN ('NEWS', 'ALERT', 'CAMPAIGN')),
	entity_id text,
	sentiment_val integer NOT NULL DEFAULT 0 CHECK (sentiment_val IN (-1, 0, 1)),
	properties jsonb NOT NULL DEFAULT '{}',
	occurred_at timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, event_id, occurred_at),
	FOREIGN KEY (tenant_id, profile_id) REFERENCES cdp_profiles (tenant_id, profile_id)
		ON DELETE CASCADE
) PARTITION BY RANGE (occurred_at);

CREATE TABLE IF NOT EXISTS behavioral_events_default
	PARTITION OF behavioral_events DEFAULT;

CREATE TABLE IF NOT EXISTS consent_management (
	tenant_id uuid NOT NULL,
	profile_id text NOT NULL,
	channel leo_channel NOT NULL,
	status text NOT NULL DEFAULT 'granted' CHECK (status IN ('granted', 'revoked')),
	legal_basis consent_legal_basis NOT NULL,
	source text,
	granted_at timestamptz DEFAULT now(),
	revoked_at timestamptz,
	expires_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, profile_id, channel),
	FOREIGN KEY (tenant_id, profile_id) REFERENCES cdp_profiles (tenant_id, profile_id)
		ON DELETE CASCADE
);
COMMENT ON TABLE consent_management IS
	'Consent holds when the row exists, status = ''granted'' and expires_at is NULL or in the future.';

-- AI enrichment queue: a new cdp_profiles row queues one job (50_triggers.sql).
CREATE TABLE IF NOT EXISTS embedding_job (
	tenant_id uuid NOT NULL,
	job_id bigserial NOT NULL,
	profile_id text NOT NULL,
	status text NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'running', 'done', 'failed')),
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	last_error text,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, job_id),
	FOREIGN KEY (tenant_id, profile_id) REFERENCES cdp_profiles (tenant_id, profile_id)
		ON DELETE CASCADE
);

-- Embedding columns: vector(1536) with pgvector, else real[] of exactly 1536
-- elements.  ADD COLUMN IF NOT EXISTS keeps a re-apply a no-op; a column
-- created as real[] stays real[] when pgvector is installed later (converting
-- it is a migration of its own).
DO $$
DECLARE
	c record;
	-- pgvector's schema: public when 00_extensions.sql installed it.
	vschema name := (SELECT n.nspname FROM pg_extension AS e
			 JOIN pg_namespace AS n ON n.oid = e.extnamespace
			 WHERE e.extname = 'vector');
BEGIN
	FOR c IN
		SELECT * FROM (VALUES
			('cdp_profiles', 'interest_embedding'),
			('marketing_event', 'embedding'),
			('news_feed', 'content_embedding')
		) AS v(tab, col)
	LOOP
		IF vschema IS NOT NULL THEN
			EXECUTE format('ALTER TABLE public.%I ADD COLUMN IF NOT EXISTS %I %I.vector(1536)',
				       c.tab, c.col, vschema);
		ELSE
			EXECUTE format('ALTER TABLE public.%I ADD COLUMN IF NOT EXISTS %I real[] '
				       'CONSTRAINT %I CHECK (array_ndims(%I) = 1 AND cardinality(%I) = 1536 '
				       'AND array_position(%I, NULL) IS NULL)',
				       c.tab, c.col, c.tab || '_' || c.col || '_check',
				       c.col, c.col, c.col);
		END IF;
	END LOOP;
END
$$;

-- The key that signs every notification the daemon acts on (leo_notify,
-- 40_functions.sql).  NOTIFY needs no privilege: without a signature any
-- session that can connect could send the daemon a price change or a tenant
-- suspension of its own making.  One row of 32 random bytes, made once (a
-- re-apply keeps it); readable by its owner and leo_alertd only.  Rotate with
-- UPDATE leo_notify_key SET key = gen_random_bytes(32), then reload the
-- daemon (SIGHUP): its resync reads the new key and keeps the old one for
-- what is still in the queue.
CREATE TABLE IF NOT EXISTS leo_notify_key (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	key bytea NOT NULL DEFAULT gen_random_bytes(32) CHECK (octet_length(key) = 32),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO leo_notify_key DEFAULT VALUES ON CONFLICT DO NOTHING;
REVOKE ALL ON leo_notify_key FROM PUBLIC;
