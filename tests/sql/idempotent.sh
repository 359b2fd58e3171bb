#!/usr/bin/env bash
# ctest sql_idempotent: the schema applies to an empty database, and applying
# it a second time changes nothing (pg_dump --schema-only is identical, but
# for the random \restrict key of newer pg_dump versions).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
db=leo_t_idempotent
work=$(mktemp -d)
cleanup() {
	psql -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
"$top/scripts/schema-apply.sh" "$db" 2>"$work/apply1.err"
pg_dump --schema-only -d "$db" | grep -Ev '^\\(un)?restrict ' >"$work/first.sql"
"$top/scripts/schema-apply.sh" "$db" 2>"$work/apply2.err"
pg_dump --schema-only -d "$db" | grep -Ev '^\\(un)?restrict ' >"$work/second.sql"

if ! diff -u "$work/first.sql" "$work/second.sql"; then
	echo "FAIL: the second apply changed the schema" >&2
	exit 1
fi
n=$(grep -c '^CREATE TABLE' "$work/first.sql")
if [ "$n" -lt 14 ]; then
	echo "FAIL: only $n tables in the dump" >&2
	exit 1
fi
if grep -v NOTICE "$work/apply2.err" | grep -q .; then
	echo "FAIL: the second apply said more than notices:" >&2
	cat "$work/apply2.err" >&2
	exit 1
fi
echo "ok: applied twice, $(wc -l <"$work/first.sql") lines of schema unchanged, $n tables"
