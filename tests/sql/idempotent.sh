#!/usr/bin/env bash
# ctest sql_idempotent: the schema applies to an empty database, and applying
# it a second time changes nothing: the catalogs list the same objects
# (tests/sql/schema_catalog.sql), and pg_dump --schema-only is identical, but
# for the random \restrict key of newer pg_dump versions.  pg_dump refuses a
# server newer than itself (Debian 12's is 15, the tests also run on 18):
# there the catalog listing alone speaks.
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
server=$(psql -X -At -d postgres -c "SELECT current_setting('server_version_num')::int / 10000")
client=$(pg_dump --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
# snapshot NAME: the catalog listing in NAME.cat, pg_dump's in NAME.sql
snapshot() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$top/tests/sql/schema_catalog.sql" >"$work/$1.cat"
	if [ "$client" -ge "$server" ]; then
		pg_dump --schema-only -d "$db" | grep -Ev '^\\(un)?restrict ' >"$work/$1.sql"
	else
		: >"$work/$1.sql"
	fi
}
"$top/scripts/schema-apply.sh" "$db" 2>"$work/apply1.err"
snapshot first
"$top/scripts/schema-apply.sh" "$db" 2>"$work/apply2.err"
snapshot second

for f in cat sql; do
	if ! diff -u "$work/first.$f" "$work/second.$f"; then
		echo "FAIL: the second apply changed the schema" >&2
		exit 1
	fi
done
n=$(grep -cE '^relation .* kind [rp] ' "$work/first.cat")
if [ "$n" -lt 14 ]; then
	echo "FAIL: only $n tables in the dump" >&2
	exit 1
fi
if grep -v NOTICE "$work/apply2.err" | grep -q .; then
	echo "FAIL: the second apply said more than notices:" >&2
	cat "$work/apply2.err" >&2
	exit 1
fi
dumped="pg_dump's $(wc -l <"$work/first.sql") lines"
[ "$client" -ge "$server" ] || dumped="no pg_dump: $client cannot read $server"
echo "ok: applied twice, $(wc -l <"$work/first.cat") catalog lines ($dumped) unchanged, $n tables"
