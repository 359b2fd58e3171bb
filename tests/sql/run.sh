#!/usr/bin/env bash
# ctest driver of one pgTAP file: tests/sql/run.sh NAME runs tests/sql/NAME.sql
# with pg_prove in a fresh database leo_t_NAME cloned from leo_template
# (tests/newdb.sh), as the superuser of the throwaway cluster, and drops the
# database afterwards.  For the condition test it first loads the vectors of
# tests/data/cond/{ok,bad}/ into table cond_vector (bad-text/ is for the
# daemon's compiler only: jsonb cannot see what those files break).
# LEO_PG_PROVE_FLAGS adds pg_prove options, e.g. -v to list every test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
name=${1:?usage: run.sh NAME}
db=leo_t_$name

bash "$top/tests/newdb.sh" "$db"
drop() {
	psql -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true
}
trap drop EXIT

if [ "$name" = cond ]; then
	{
		echo "CREATE TABLE cond_vector (kind text, name text, body text NOT NULL, PRIMARY KEY (kind, name));"
		for kind in ok bad; do
			for f in "$top/tests/data/cond/$kind"/*.json; do
				case $f in *"'"*) echo "unsupported path: $f" >&2; exit 1 ;; esac
				printf "\\\\set body \`cat '%s'\`\n" "$f"
				printf "INSERT INTO cond_vector VALUES ('%s', '%s', :'body');\n" \
					"$kind" "$(basename "$f" .json)"
			done
		done
	} | psql -X -q -v ON_ERROR_STOP=1 -d "$db"
fi

pg_prove ${LEO_PG_PROVE_FLAGS:-} --ext .sql -d "$db" "$here/$name.sql"
