#!/usr/bin/env bash
# Per-statement cost of the market_snapshot notify trigger, one backend.
#
#   bench/trigger/statement.sh [-r ROUNDS] [TREE ...]
#
# Each TREE is a checkout of leo-alertd (default: this one) whose
# scripts/schema-apply.sh makes one database of a throwaway cluster
# (scripts/pgtmp.sh) with 50 rows in market_snapshot; compare revisions by
# passing checkouts of them (git worktree add DIR REV).  Each round runs,
# in every database in turn, a DO block of 5,000 single-row UPDATEs and one
# of 500 50-row UPDATEs (one transaction each, no listener) and times them
# (psql \timing); it prints every round and then the medians in µs per
# statement, trigger included.  Rounds alternate the trees so that drift in
# the machine's load hits all of them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"

rounds=11
[ "${1:-}" = -r ] && { rounds=$2; shift 2; }
[ $# -gt 0 ] || set -- "$leo_top"

work=$(mktemp -d "${TMPDIR:-/tmp}/leo-bench-statement.XXXXXX")
chmod 755 "$work"
trap '"$leo_top/scripts/pgtmp.sh" stop "$work/pg" || true; rm -rf "$work"' EXIT
eval "$("$leo_top/scripts/pgtmp.sh" start "$work/pg")"
export PGHOST PGPORT PGUSER

i=0
for tree in "$@"; do
	i=$((i + 1))
	psql -X -q -d postgres -c "CREATE DATABASE s$i"
	"$tree/scripts/schema-apply.sh" "s$i" >/dev/null 2>&1
	psql -X -q -d "s$i" -c "INSERT INTO market_snapshot (symbol, price)
		SELECT 'S' || g, 10 FROM generate_series(1, 50) g" -c "VACUUM ANALYZE"
done
cat >"$work/loop.sql" <<'SQL'
\timing on
DO $$ BEGIN FOR i IN 1..5000 LOOP
	UPDATE market_snapshot SET price = 10 + i % 2 WHERE symbol = 'S1';
END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..500 LOOP
	UPDATE market_snapshot SET price = 10 + i % 2 WHERE symbol LIKE 'S%';
END LOOP; END $$;
SQL
for r in $(seq "$rounds"); do
	for j in $(seq "$i"); do
		echo "$r $j $(psql -X -q -d "s$j" -f "$work/loop.sql" | awk '/^Time/ { printf "%s ", $2 }')"
	done
done | tee "$work/rounds"
echo "tree | 1-row UPDATE µs (median, min-max) | 50-row UPDATE µs (median, min-max)"
j=0
for tree in "$@"; do
	j=$((j + 1))
	awk -v j="$j" '$2 == j { print $3 / 5, $4 / 0.5 }' "$work/rounds" | python3 -c '
import statistics, sys
rows = [tuple(map(float, l.split())) for l in sys.stdin]
cols = list(zip(*rows))
print(sys.argv[1], *("| %.0f (%.0f-%.0f)" % (statistics.median(c), min(c), max(c)) for c in cols))' "$tree"
done
