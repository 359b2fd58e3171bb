-- 00_extensions.sql — extensions of the LEO schema.
--
-- pgcrypto (gen_random_uuid, digest for deterministic rule ids) and citext
-- are required.  pgvector, Apache AGE and PostGIS are used when the server
-- offers them and skipped with a NOTICE otherwise: embedding columns are then
-- real[] checked to 1536 elements (30_tables.sql), and the graph and geo parts
-- are absent (90_optional.sql).  Everything of ours lives in schema public.

SET client_min_messages = warning;	-- quiet "already exists" on a re-apply
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
SET client_min_messages = notice;

DO $$
DECLARE
	ext text;
BEGIN
	FOREACH ext IN ARRAY ARRAY['vector', 'age', 'postgis'] LOOP
		IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = ext) THEN
			CONTINUE;
		ELSIF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = ext) THEN
			-- AGE keeps its catalog in its own schema (ag_catalog).
			IF ext = 'age' THEN
				EXECUTE 'CREATE EXTENSION IF NOT EXISTS age';
			ELSE
				EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA public', ext);
			END IF;
		ELSE
			RAISE NOTICE 'extension "%" is not available on this server: skipped (%)', ext,
				CASE ext
				WHEN 'vector' THEN 'embedding columns are real[] of 1536 elements, no HNSW indexes'
				WHEN 'age' THEN 'no graph'
				ELSE 'no geo columns'
				END;
		END IF;
	END LOOP;
END
$$;
