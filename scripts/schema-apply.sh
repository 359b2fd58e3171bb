#!/usr/bin/env bash
# Apply the LEO schema (schema/*.sql, in name order) to database DBNAME in one
# transaction; nothing is left half-applied.  Idempotent: applying it again
# changes nothing.  The connection is libpq's usual (PGHOST, PGPORT, PGUSER,
# ...); DBNAME may also be a connection string.  Needs a role that may create
# extensions and roles (leo_alertd), e.g. a superuser.
#
#   scripts/schema-apply.sh DBNAME
set -euo pipefail

db=${1:?usage: schema-apply.sh DBNAME}
top=$(cd "$(dirname "$0")/.." && pwd)

files=()
while IFS= read -r f; do
	files+=(-f "$f")
done < <(LC_ALL=C ls -1 "$top"/schema/*.sql)
[ ${#files[@]} -gt 0 ] || { echo "schema-apply.sh: no schema/*.sql" >&2; exit 1; }

exec psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$db" "${files[@]}"
