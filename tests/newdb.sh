#!/usr/bin/env bash
# A fresh test database: drop NAME if it exists and create it from
# leo_template, which the pg_schema_template test (fixture pg_schema) made
# with the whole schema applied.  Uses libpq's PG* environment.
#
#   tests/newdb.sh NAME
set -euo pipefail

name=${1:?usage: newdb.sh NAME}
psql -X -q -v ON_ERROR_STOP=1 -d postgres -v name="$name" <<'SQL'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS :"name" WITH (FORCE);
CREATE DATABASE :"name" TEMPLATE leo_template;
SQL
