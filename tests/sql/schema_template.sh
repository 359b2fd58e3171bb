#!/usr/bin/env bash
# ctest pg_schema_template (FIXTURES_SETUP pg_schema): (re)create database
# leo_template from schema/*.sql with scripts/schema-apply.sh, and the login
# role leo_daemon (member of leo_alertd, no password: the throwaway cluster
# trusts local connections) that tests use to act as the daemon, and
# leo_sender (member of leo_deliver) to act as the sender, and leo_enricher
# (member of leo_enrich) to act as leo-enrich.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS leo_template WITH (FORCE);
CREATE DATABASE leo_template;
SQL
"$top/scripts/schema-apply.sh" leo_template
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
SET client_min_messages = warning;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leo_daemon') THEN
		CREATE ROLE leo_daemon LOGIN;
	END IF;
END
$$;
GRANT leo_alertd TO leo_daemon;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leo_sender') THEN
		CREATE ROLE leo_sender LOGIN;
	END IF;
END
$$;
GRANT leo_deliver TO leo_sender;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leo_enricher') THEN
		CREATE ROLE leo_enricher LOGIN;
	END IF;
END
$$;
GRANT leo_enrich TO leo_enricher;
SQL
echo "leo_template ready"
