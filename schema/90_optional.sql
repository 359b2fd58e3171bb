-- 90_optional.sql — the parts that need optional extensions: the Apache AGE
-- graph and the PostGIS location.  Each is skipped when its extension is
-- absent (00_extensions.sql said so with a NOTICE).  Dynamic SQL, so the file
-- parses on a server without them.

SET client_min_messages = warning;

-- Graph of profiles, instruments and news (AGE keeps it in schema leo_graph).
DO $$
DECLARE
	have boolean;
BEGIN
	IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'age') THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM ag_catalog.ag_graph WHERE name = ''leo_graph'')'
			INTO have;
		IF NOT have THEN
			EXECUTE 'LOAD ''age''';
			EXECUTE 'SELECT ag_catalog.create_graph(''leo_graph'')';
		END IF;
	END IF;
END
$$;

-- Where a profile lives, for geo-targeting.
DO $$
DECLARE
	gschema name := (SELECT n.nspname FROM pg_extension AS e
			 JOIN pg_namespace AS n ON n.oid = e.extnamespace
			 WHERE e.extname = 'postgis');
BEGIN
	IF gschema IS NOT NULL THEN
		EXECUTE format('ALTER TABLE public.cdp_profiles ADD COLUMN IF NOT EXISTS '
			       'living_geo %I.geography(Point, 4326)', gschema);
		EXECUTE 'CREATE INDEX IF NOT EXISTS cdp_profiles_living_geo_gist '
			'ON public.cdp_profiles USING gist (living_geo)';
	END IF;
END
$$;
