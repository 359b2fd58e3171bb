#!/usr/bin/env bash
# leo-enrich benchmark (BENCHMARKS.md, "leo-enrich (bench/enrich)").
#
# Builds leo-enrich and bench_enrich_write with -O2 (RelWithDebInfo) in
# build-bench/, starts a throwaway PostgreSQL 15, loads N profiles (default
# 10,000) with 50 behavioural events each (load.sql), then in the same run:
#   enrich   leo-enrich with the hashing embedder, batch B (default 64),
#            from its start until every job is done: claim, documents,
#            embedding, write, end to end; with enrich.workers 1, then 2
#            (two workers in the one process, sharing the queue);
#   ceiling  bench_enrich_write: the same N embeddings, ready-made, written
#            in batches of B in one transaction each, nothing else.
# Each is run ROUNDS times (default 3), alternating, the jobs queued again
# between runs.  Every measured command starts alike: the tables it writes
# just vacuumed and analysed, then a CHECKPOINT, with autovacuum off in this
# throwaway cluster, so that neither a vacuum nor a checkpoint falls inside
# one command's window and not the other's.  The end of an enrich run is
# awaited inside one database session (a loop with pg_sleep), so the wait
# takes no CPU from the worker (a psql started every half second did).
#
#   bench/enrich/run.sh [N] [B] [ROUNDS]
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$leo_top"
n=${1:-10000}
b=${2:-64}
rounds=${3:-3}
tenant=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa

dir=${LEO_BENCH_BUILD:-build-bench}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEO_WERROR=ON -DLEO_BENCH_E2E=OFF >/dev/null
cmake --build "$dir" --target leo-enrich bench_enrich_write -j 2 >/dev/null

work=$(mktemp -d)
chmod 755 "$work"
stop() {
	[ -z "${pid:-}" ] || kill "$pid" 2>/dev/null || true
	scripts/pgtmp.sh stop "$work/pg" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap stop EXIT
eval "$(scripts/pgtmp.sh start "$work/pg")"
export PGHOST PGPORT PGUSER LEO_PGDIR
bash tests/sql/schema_template.sh >/dev/null 2>&1
bash tests/newdb.sh leo_bench_enrich
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d leo_bench_enrich "$@"; }
sql -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
t=$(date +%s.%N)
sql -v n="$n" -f bench/enrich/load.sql
echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), PostgreSQL $(sql -c 'SHOW server_version')"
echo "== loaded $n profiles, $(sql -c 'SELECT count(*) FROM behavioral_events') events in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; batch $b"

for w in 1 2; do
	cat >"$work/enrich-$w.yaml" <<YAML
database:
  conninfo: "dbname=leo_bench_enrich user=leo_enricher"
enrich:
  poll_interval_s: 1
  batch_size: $b
  events_per_profile: 50
  news: false
  workers: $w
stats:
  listen: ""
YAML
done
conn="dbname=leo_bench_enrich user=leo_enricher"

requeue() {
	sql -c "SET app.current_tenant_id = '$tenant'" \
	    -c "UPDATE embedding_job SET status = 'queued', attempts = 0, run_after = now() - interval '1 s'" \
	    -c "UPDATE cdp_profiles SET interest_embedding = NULL"
	settle
}

# The state every measured command starts from (see the top).
settle() {
	sql -c "VACUUM ANALYZE embedding_job" -c "VACUUM ANALYZE cdp_profiles" -c "CHECKPOINT"
}

# enrich_run ROUND WORKERS: the queue worked from the start of leo-enrich
# until the last job is done (its updated_at), every embedding written.
enrich_run() {
	local t0 t1 done_n
	t0=$(date +%s.%N)
	"$dir/leo-enrich" --config "$work/enrich-$2.yaml" 2>"$work/enrich.log" &
	pid=$!
	# one session waits (no process started per look), 300 s at most
	sql -c "SET app.current_tenant_id = '$tenant'" -c "DO \$\$
		BEGIN
			WHILE EXISTS (SELECT 1 FROM embedding_job WHERE status <> 'done')
			  AND clock_timestamp() < now() + interval '300 s' LOOP
				PERFORM pg_sleep(0.2);
			END LOOP;
		END \$\$"
	if ! kill -0 "$pid" || [ "$(sql -c "SET app.current_tenant_id = '$tenant'" \
			-c "SELECT count(*) FROM embedding_job WHERE status <> 'done'")" != 0 ]; then
		cat "$work/enrich.log"
		exit 1
	fi
	t1=$(sql -c "SET app.current_tenant_id = '$tenant'" -c "SELECT extract(epoch FROM max(updated_at)) FROM embedding_job")
	kill "$pid"
	wait "$pid"
	pid=
	done_n=$(sql -c "SET app.current_tenant_id = '$tenant'" -c "SELECT count(*) FROM cdp_profiles WHERE interest_embedding IS NOT NULL")
	awk -v r="$1" -v w="$2" -v n="$done_n" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "round %d enrich x%d profiles %d seconds %.3f per_second %.0f\n", r, w, n, b - a, n / (b - a) }'
}

for r in $(seq "$rounds"); do
	if [ "$r" -eq 1 ]; then settle; else requeue; fi
	enrich_run "$r" 1
	requeue
	enrich_run "$r" 2
	settle
	printf 'round %d ceiling   ' "$r"
	"$dir/bench/enrich/bench_enrich_write" "$conn" "$tenant" "$n" "$b"
done
