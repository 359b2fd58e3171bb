-- 47_enrich.sql — what leo-enrich does to data (SPEC section 8): claims of
-- embedding_job with leases, the fields of a profile's document, the write
-- of an embedding, failures with backoff, the jobs a changed profile queues,
-- and the news rows still without an embedding.  Every function runs as its
-- caller (SECURITY INVOKER): row-level security applies to every row.
--
-- A claim is a lease: lease_owner and lease_until on the job.  Two workers
-- never hold one job (FOR UPDATE SKIP LOCKED, then the lease); a worker that
-- died loses its jobs when the lease runs out, and the next claim takes them
-- with attempts + 1 (a job that kills its worker every time ends failed at
-- max_attempts instead of looping).  leo_enrich_done and leo_enrich_fail
-- act only for the owner still holding the job, so one result is recorded
-- once.
--
-- Tenants: leo_enrich_claim walks the active tenants itself, setting
-- app.current_tenant_id (local to the transaction) for each before it looks
-- at that tenant's queue, so one call serves every tenant and RLS still
-- decides what each statement sees.  The other functions take the tenant and
-- set it the same way.
--
-- A deleted profile's jobs go with it (ON DELETE CASCADE, 30_tables.sql):
-- a worker holding one finds it gone and records nothing ('gone').

SET client_min_messages = warning;

ALTER TABLE embedding_job ADD COLUMN IF NOT EXISTS run_after timestamptz NOT NULL DEFAULT now();
ALTER TABLE embedding_job ADD COLUMN IF NOT EXISTS lease_owner text;
ALTER TABLE embedding_job ADD COLUMN IF NOT EXISTS lease_until timestamptz;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'embedding_job_lease_check'
		       AND conrelid = 'public.embedding_job'::regclass) THEN
		ALTER TABLE public.embedding_job ADD CONSTRAINT embedding_job_lease_check
			CHECK ((lease_owner IS NULL) = (lease_until IS NULL));
	END IF;
END
$$;
COMMENT ON COLUMN embedding_job.run_after IS 'Not claimed before this time (backoff after a transient error).';
COMMENT ON COLUMN embedding_job.lease_until IS 'A running job whose lease ran out is claimed again.';

-- The real[] embeddings (the fallback without pgvector) compressed with lz4
-- rather than pglz: a 6 KB vector is compressed on every write (to 0.7 KB
-- for a profile's document, mostly zeros) and pglz_compress was the largest
-- single cost of the write; with lz4 a batch's record takes 8 ms, not 12
-- (BENCHMARKS.md, leo-enrich).  Rows already written keep theirs until
-- rewritten.  A server built without lz4 keeps pglz.  pgvector's vector is
-- stored uncompressed anyway.
DO $$
DECLARE
	c record;
BEGIN
	FOR c IN
		SELECT r.relname, a.attname FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
		 WHERE r.oid IN ('public.cdp_profiles'::regclass, 'public.news_feed'::regclass)
		   AND a.attname IN ('interest_embedding', 'content_embedding') AND NOT a.attisdropped
		   AND a.atttypid = 'real[]'::regtype AND a.attcompression <> 'l'
	LOOP
		BEGIN
			EXECUTE format('ALTER TABLE public.%I ALTER COLUMN %I SET COMPRESSION lz4',
				       c.relname, c.attname);
		EXCEPTION WHEN feature_not_supported THEN
			NULL;
		END;
	END LOOP;
END
$$;

-- What a claim scans: a tenant's queued or running jobs by due time.
CREATE INDEX IF NOT EXISTS embedding_job_due_idx ON embedding_job (tenant_id, run_after, job_id)
	WHERE status IN ('queued', 'running');

-- Set the tenant for the rest of the transaction (the RLS key).
CREATE OR REPLACE FUNCTION leo_enrich_tenant(p_tenant uuid)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, public
AS $$
	SELECT set_config('app.current_tenant_id', coalesce(p_tenant::text, ''), true)
$$;

-- What the document reads of a profile's events: its newest first, with
-- every column the read needs, so the read is an index-only scan of the
-- newest p_events entries and touches no heap page (once VACUUM has marked
-- the pages all-visible, as autovacuum does for an append-mostly table).
CREATE INDEX IF NOT EXISTS behavioral_events_recent_idx
	ON behavioral_events (tenant_id, profile_id, occurred_at DESC, event_id DESC)
	INCLUDE (event_type, entity_type, entity_id);

-- Earlier versions returned the fields as json; a changed result type
-- needs the function dropped first (80_roles.sql grants EXECUTE again).
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_proc
		    WHERE proname IN ('leo_enrich_fields_of', 'leo_enrich_claim')
		      AND pronamespace = 'public'::regnamespace
		      AND 'json'::regtype = ANY (proallargtypes)) THEN
		DROP FUNCTION IF EXISTS public.leo_enrich_claim(text, integer, integer, integer, integer);
		DROP FUNCTION IF EXISTS public.leo_enrich_fields_of(text[], integer);
	END IF;
END
$$;

-- The fields of the documents of profiles of the current tenant (SPEC 8),
-- one row per profile found, as the text of a json object:
--   {"job_titles": .., "segments": .., "location": "..", "portfolio": ..,
--    "events": [{"type": "VIEW", "entity": "NEWS", "text": "headline"}, ..]}
-- job_titles, segments and portfolio (portfolio_snapshot) as the profile
-- holds them: the document (src/enrich/document.c) takes from them what it
-- can, so a malformed field costs nothing here.
-- events: the newest p_events behavioural events, newest first (occurred_at,
-- then event_id), each with the headline of its NEWS, the symbol of its
-- ALERT's rule or the name of its CAMPAIGN (null when that is gone).
--
-- NB: this is the bulk of a claim's cost, so it is written for speed: one
-- set-based query for a whole batch; the events read off
-- behavioral_events_recent_idx; each label looked up once per batch for the
-- distinct ids the batch's events name, not once per event, news by its
-- bigint id and the others by (type, id), so no key is made text per event;
-- the events grouped by the profile's number in the batch (an integer
-- sort, not a text one under the database's collation); the object put
-- together as text (event_type and entity_type are upper-case words by
-- their CHECKs and need no quoting, every other string goes through
-- to_json), since json_build_object looks up the output function of each
-- argument for every event, and a json result would be parsed again only
-- to be checked.  plpgsql, so the plan is kept between calls.
CREATE OR REPLACE FUNCTION leo_enrich_fields_of(p_profile_ids text[], p_events integer)
RETURNS TABLE (pid text, fields text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	WITH me AS (
		SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid AS t
	), p AS MATERIALIZED (
		SELECT p.*, row_number() OVER () AS k FROM cdp_profiles p, me
		 WHERE p.tenant_id = me.t AND p.profile_id = ANY (p_profile_ids)
	), ev AS MATERIALIZED (
		SELECT p.k, e.*,
		       CASE WHEN e.entity_type = 'NEWS' AND length(e.entity_id) BETWEEN 1 AND 18
			     AND ltrim(e.entity_id, '0123456789') = ''
			    THEN e.entity_id::bigint END AS news_id
		  FROM p CROSS JOIN LATERAL (
			SELECT b.event_type, b.entity_type, b.entity_id, b.occurred_at, b.event_id
			  FROM behavioral_events b
			 WHERE b.tenant_id = p.tenant_id AND b.profile_id = p.profile_id
			 ORDER BY b.occurred_at DESC, b.event_id DESC
			 LIMIT greatest(p_events, 0)) e
	), labn AS MATERIALIZED (
		SELECT n.news_id, to_json(n.headline)::text AS label
		  FROM news_feed n
		 WHERE n.news_id = ANY (ARRAY(SELECT DISTINCT ev.news_id FROM ev
					       WHERE ev.news_id IS NOT NULL))
	), labo AS MATERIALIZED (
		SELECT 'ALERT' AS entity_type, r.rule_id AS entity_id,
		       to_json(r.symbol::text)::text AS label
		  FROM alert_rules r, me
		 WHERE r.tenant_id = me.t
		   AND r.rule_id = ANY (ARRAY(SELECT DISTINCT ev.entity_id FROM ev
					       WHERE ev.entity_type = 'ALERT'))
		UNION ALL
		SELECT 'CAMPAIGN', c.campaign_id, to_json(c.campaign_name)::text
		  FROM campaign c, me
		 WHERE c.tenant_id = me.t
		   AND c.campaign_id = ANY (ARRAY(SELECT DISTINCT ev.entity_id FROM ev
						   WHERE ev.entity_type = 'CAMPAIGN'))
	), agg AS (
		SELECT ev.k,
		       string_agg('{"type": "' || ev.event_type || '", "entity": "' ||
				  ev.entity_type || '", "text": ' ||
				  coalesce(ln.label, lo.label, 'null') || '}',
				  ', ' ORDER BY ev.occurred_at DESC, ev.event_id DESC) AS events
		  FROM ev
		  LEFT JOIN labn ln ON ev.entity_type = 'NEWS' AND ln.news_id = ev.news_id
		  LEFT JOIN labo lo ON lo.entity_type = ev.entity_type AND lo.entity_id = ev.entity_id
		 GROUP BY ev.k
	)
	SELECT p.profile_id,
	       '{"job_titles": ' || p.job_titles::text || ', "segments": ' || p.segments::text ||
	       ', "location": ' || coalesce(to_json(p.living_location)::text, 'null') ||
	       ', "portfolio": ' || p.portfolio_snapshot::text ||
	       ', "events": [' || coalesce(agg.events, '') || ']}'
	  FROM p LEFT JOIN agg ON agg.k = p.k;
END
$$;

-- The fields of one profile (leo_enrich_fields_of); NULL when the profile
-- does not exist (or is not the current tenant's).
CREATE OR REPLACE FUNCTION leo_enrich_fields(p_profile_id text, p_events integer)
RETURNS json
LANGUAGE sql
STABLE
SET search_path = pg_catalog, public
AS $$
	SELECT fields::json FROM leo_enrich_fields_of(ARRAY[p_profile_id], p_events)
$$;

-- Claim up to p_limit due jobs over all active tenants for p_owner and
-- return each with its document's fields: queued jobs whose run_after has
-- come, and running jobs whose lease ran out (attempts + 1, and failed when
-- that reaches p_max_attempts).  Tenants are visited in random order, so a
-- big queue of one does not always starve the next.  The caller's
-- app.current_tenant_id is restored before returning.
CREATE OR REPLACE FUNCTION leo_enrich_claim(p_owner text, p_lease_s integer, p_limit integer,
	p_events integer DEFAULT 50, p_max_attempts integer DEFAULT 5)
RETURNS TABLE (tenant_id uuid, job_id bigint, profile_id text, attempt integer, fields text)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
	saved constant text := current_setting('app.current_tenant_id', true);
	t uuid;
	left_n integer := greatest(p_limit, 0);
	got integer;
BEGIN
	IF p_owner IS NULL OR p_owner = '' OR p_lease_s IS NULL OR p_lease_s < 1 THEN
		RAISE EXCEPTION 'leo_enrich_claim: an owner and a positive lease are required'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR t IN SELECT a FROM leo_active_tenants() a ORDER BY random() LOOP
		EXIT WHEN left_n <= 0;
		PERFORM leo_enrich_tenant(t);
		-- Expired leases that used up their attempts end here.
		UPDATE embedding_job j
		   SET status = 'failed', attempts = j.attempts + 1, lease_owner = NULL,
		       lease_until = NULL,
		       last_error = 'lease of ' || j.lease_owner || ' ran out (worker lost); attempts used up'
		 WHERE j.tenant_id = t AND j.status = 'running' AND j.lease_until < now()
		   AND j.attempts + 1 >= greatest(p_max_attempts, 1);
		RETURN QUERY
		WITH due AS (
			SELECT j.job_id FROM embedding_job j
			 WHERE j.tenant_id = t
			   AND ((j.status = 'queued' AND j.run_after <= now())
				OR (j.status = 'running' AND j.lease_until < now()))
			 ORDER BY j.run_after, j.job_id
			 LIMIT left_n
			   FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE embedding_job j
			   SET attempts = j.attempts + CASE WHEN j.status = 'running' THEN 1 ELSE 0 END,
			       last_error = CASE WHEN j.status = 'running'
					    THEN 'lease of ' || j.lease_owner || ' ran out (worker lost)'
					    ELSE j.last_error END,
			       status = 'running', lease_owner = p_owner,
			       lease_until = now() + p_lease_s * interval '1 second'
			  FROM due WHERE j.tenant_id = t AND j.job_id = due.job_id
			RETURNING j.job_id, j.profile_id, j.attempts
		)
		SELECT t, c.job_id, c.profile_id, c.attempts + 1, f.fields
		  FROM claimed c
		  LEFT JOIN leo_enrich_fields_of(ARRAY(SELECT c2.profile_id FROM claimed c2), p_events) f
		    ON f.pid = c.profile_id
		 ORDER BY c.job_id;
		GET DIAGNOSTICS got = ROW_COUNT;
		left_n := left_n - got;
	END LOOP;
	PERFORM set_config('app.current_tenant_id', coalesce(saved, ''), true);
END
$$;

-- Give a failed job back: attempts + 1 and last_error; queued again after
-- p_backoff_s, or failed when p_permanent or attempts reach p_max_attempts.
-- 'queued', 'failed', or 'lost' (p_owner does not hold it, or it is gone).
CREATE OR REPLACE FUNCTION leo_enrich_fail(p_owner text, p_tenant uuid, p_job_id bigint,
	p_error text, p_permanent boolean, p_backoff_s double precision,
	p_max_attempts integer DEFAULT 5)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	st text;
BEGIN
	PERFORM leo_enrich_tenant(p_tenant);
	UPDATE embedding_job j
	   SET attempts = j.attempts + 1, last_error = left(coalesce(p_error, 'error'), 2000),
	       status = CASE WHEN p_permanent OR j.attempts + 1 >= greatest(p_max_attempts, 1)
			     THEN 'failed' ELSE 'queued' END,
	       run_after = now() + greatest(coalesce(p_backoff_s, 0), 0) * interval '1 second',
	       lease_owner = NULL, lease_until = NULL
	 WHERE j.tenant_id = p_tenant AND j.job_id = p_job_id AND j.status = 'running'
	   AND j.lease_owner = p_owner
	RETURNING j.status INTO st;
	RETURN coalesce(st, 'lost');
END
$$;

-- The NOTIFY that wakes the workers: one per statement that queued jobs
-- (identical notifications of a transaction are delivered once).
CREATE OR REPLACE FUNCTION leo_enrich_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
	PERFORM pg_notify('leo_enrich', '');
	RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER embedding_job_notify
	AFTER INSERT ON embedding_job
	FOR EACH STATEMENT EXECUTE FUNCTION leo_enrich_notify();

-- A profile whose job_titles or segments changed queues a new job, unless
-- one of it is still queued (that one will read the new fields).  A running
-- job read the old ones, so it does not count.  SECURITY DEFINER as
-- leo_queue_embedding_job: writers of profiles need no privilege on the
-- queue, and RLS still applies (forced on the owner).
CREATE OR REPLACE FUNCTION leo_enrich_requeue()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
	INSERT INTO embedding_job (tenant_id, profile_id)
	SELECT NEW.tenant_id, NEW.profile_id
	 WHERE NOT EXISTS (SELECT 1 FROM embedding_job j
			    WHERE j.tenant_id = NEW.tenant_id AND j.profile_id = NEW.profile_id
			      AND j.status = 'queued');
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION leo_enrich_requeue() FROM PUBLIC;
CREATE OR REPLACE TRIGGER cdp_profiles_enrich_requeue
	AFTER UPDATE OF job_titles, segments ON cdp_profiles
	FOR EACH ROW
	WHEN (OLD.job_titles IS DISTINCT FROM NEW.job_titles
	      OR OLD.segments IS DISTINCT FROM NEW.segments)
	EXECUTE FUNCTION leo_enrich_requeue();

-- News without an embedding, oldest first, after p_after (the caller's
-- cursor, so a row that keeps failing is not picked again at once).  Not
-- claimed: two workers may embed one row twice; the write keeps the first.
CREATE OR REPLACE FUNCTION leo_enrich_news_pick(p_after bigint, p_limit integer)
RETURNS TABLE (news_id bigint, headline text, body text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, public
AS $$
	SELECT n.news_id, n.headline, n.body FROM news_feed n
	 WHERE n.content_embedding IS NULL AND n.news_id > coalesce(p_after, 0)
	 ORDER BY n.news_id LIMIT greatest(p_limit, 0)
$$;

-- The writers of an embedding, made for the column types this database has:
-- vector(1536) takes the real[] through pgvector's cast, real[] as it is
-- (its CHECK wants 1536 elements, no NULL).  leo_enrich_make_writers() is
-- run below and again by whoever changes a column's type.
--
-- leo_enrich_done(owner, tenant, job, embedding): write the profile's
-- interest_embedding and end the job done, in the caller's transaction.
-- 'done'; 'gone' (the job or its profile was deleted meanwhile: nothing to
-- write); 'lost' (the job exists but p_owner no longer holds it).
-- leo_enrich_done_many(owner, tenant, jobs[], embeddings): the same for a
-- batch in one statement, a result per job; embeddings holds the batch's
-- vectors one after the other (1536 each, in the order of jobs), so the
-- worker sends it as one binary float4 array.
-- leo_enrich_news_done(news_id, embedding): true when written (the row had
-- none yet).
CREATE OR REPLACE FUNCTION leo_enrich_make_writers()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $mk$
DECLARE
	pcast text;
	ncast text;
	ty record;
BEGIN
	FOR ty IN
		SELECT c.relname, n.nspname, t.typname
		  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		  JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace n ON n.oid = t.typnamespace
		 WHERE c.oid IN ('public.cdp_profiles'::regclass, 'public.news_feed'::regclass)
		   AND a.attname IN ('interest_embedding', 'content_embedding') AND NOT a.attisdropped
	LOOP
		IF ty.typname = 'vector' THEN
			IF ty.relname = 'cdp_profiles' THEN
				pcast := format('::%I.vector', ty.nspname);
			ELSE
				ncast := format('::%I.vector', ty.nspname);
			END IF;
		END IF;
	END LOOP;
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION public.leo_enrich_done(p_owner text, p_tenant uuid, p_job_id bigint,
	p_embedding real[])
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	j embedding_job;
BEGIN
	PERFORM leo_enrich_tenant(p_tenant);
	SELECT * INTO j FROM embedding_job e WHERE e.tenant_id = p_tenant AND e.job_id = p_job_id
	   FOR UPDATE;
	IF NOT FOUND THEN
		RETURN 'gone';
	END IF;
	IF j.status <> 'running' OR j.lease_owner IS DISTINCT FROM p_owner THEN
		RETURN 'lost';
	END IF;
	UPDATE cdp_profiles SET interest_embedding = p_embedding%s
	 WHERE tenant_id = p_tenant AND profile_id = j.profile_id;
	IF NOT FOUND THEN
		RETURN 'gone';
	END IF;
	UPDATE embedding_job SET status = 'done', lease_owner = NULL, lease_until = NULL
	 WHERE tenant_id = p_tenant AND job_id = p_job_id;
	RETURN 'done';
END
$$$f$, coalesce(pcast, ''));
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION public.leo_enrich_done_many(p_owner text, p_tenant uuid,
	p_job_ids bigint[], p_embeddings real[])
RETURNS TABLE (job_id bigint, result text)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
BEGIN
	PERFORM leo_enrich_tenant(p_tenant);
	RETURN QUERY
	WITH v AS (
		SELECT u.job_id, p_embeddings[(u.k - 1) * 1536 + 1 : u.k * 1536] AS emb
		  FROM unnest(p_job_ids) WITH ORDINALITY AS u(job_id, k)
	), j AS (
		SELECT e.job_id, e.profile_id, e.status = 'running' AND e.lease_owner = p_owner AS mine
		  FROM embedding_job e
		 WHERE e.tenant_id = p_tenant AND e.job_id = ANY (p_job_ids)
		   FOR UPDATE OF e
	), up AS (
		UPDATE cdp_profiles p SET interest_embedding = v.emb%s
		  FROM j JOIN v ON v.job_id = j.job_id
		 WHERE j.mine AND p.tenant_id = p_tenant AND p.profile_id = j.profile_id
		RETURNING j.job_id
	), fin AS (
		UPDATE embedding_job e SET status = 'done', lease_owner = NULL, lease_until = NULL
		  FROM up WHERE e.tenant_id = p_tenant AND e.job_id = up.job_id
		RETURNING e.job_id
	)
	SELECT v.job_id, CASE WHEN fin.job_id IS NOT NULL THEN 'done'
			      WHEN j.job_id IS NOT NULL AND NOT j.mine THEN 'lost'
			      ELSE 'gone' END
	  FROM v LEFT JOIN j ON j.job_id = v.job_id LEFT JOIN fin ON fin.job_id = v.job_id;
END
$$$f$, coalesce(pcast, ''));
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION public.leo_enrich_news_done(p_news_id bigint, p_embedding real[])
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, public
AS $$
	WITH w AS (
		UPDATE news_feed SET content_embedding = p_embedding%s
		 WHERE news_id = p_news_id AND content_embedding IS NULL
		RETURNING 1
	)
	SELECT EXISTS (SELECT 1 FROM w)
$$$f$, coalesce(ncast, ''));
	REVOKE ALL ON FUNCTION leo_enrich_done(text, uuid, bigint, real[]),
		leo_enrich_done_many(text, uuid, bigint[], real[]),
		leo_enrich_news_done(bigint, real[]) FROM PUBLIC;
END
$mk$;
DO $$ BEGIN PERFORM leo_enrich_make_writers(); END $$;

-- The queue as the metrics show it: jobs waiting (queued or running) and the
-- oldest one's age in seconds, over the active tenants.
CREATE OR REPLACE FUNCTION leo_enrich_backlog()
RETURNS TABLE (waiting bigint, oldest_s double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	saved constant text := current_setting('app.current_tenant_id', true);
	t uuid;
	n bigint;
	o double precision;
BEGIN
	waiting := 0;
	oldest_s := 0;
	FOR t IN SELECT a FROM leo_active_tenants() a LOOP
		PERFORM leo_enrich_tenant(t);
		SELECT count(*), coalesce(extract(epoch FROM now() - min(j.created_at)), 0)
		  INTO n, o FROM embedding_job j
		 WHERE j.tenant_id = t AND j.status IN ('queued', 'running');
		waiting := waiting + n;
		oldest_s := greatest(oldest_s, o);
	END LOOP;
	PERFORM set_config('app.current_tenant_id', coalesce(saved, ''), true);
	RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION leo_enrich_claim(text, integer, integer, integer, integer),
	leo_enrich_fail(text, uuid, bigint, text, boolean, double precision, integer),
	leo_enrich_news_pick(bigint, integer), leo_enrich_make_writers(),
	leo_enrich_backlog() FROM PUBLIC;
