#!/usr/bin/env bash
# The sender's benchmark (BENCHMARKS.md, "Sender (bench/deliver)"), all in
# one run on its own throwaway PostgreSQL (fsync on, synchronous_commit on:
# durable commits, unlike scripts/pgtmp.sh):
#   ceiling     N requests through the http transport on libcurl's multi
#               interface (leo_bench_ceiling), CONCURRENCY in flight, no
#               database, to the local receiver (leo_bench_sink: 200 at once);
#   throughput  N queued deliveries sent by leo-deliver to the same receiver
#               (web_push over http, concurrency CONCURRENCY): deliveries per
#               second from the first attempt's start to the last one's end;
#   latency     RATE deliveries a second for SECONDS queued one per commit
#               with their leo_delivery notification (leo_bench_feeder):
#               commit returned -> the receiver has the request, p50/p99.
#
#   bench/deliver/run.sh [--n N] [--concurrency C] [--rate R] [--seconds S] [--out FILE]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/lib.sh"
n=20000 conc=64 rate=500 seconds=10 out=
while [ $# -gt 0 ]; do
	case $1 in
	--n) n=$2; shift 2 ;;
	--concurrency) conc=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: run.sh [--n N] [--concurrency C] [--rate R] [--seconds S] [--out FILE]" >&2
	   exit 64 ;;
	esac
done
leo_install_packages build test
W=$(mktemp -d /tmp/leo-bench-deliver.XXXXXX)
chmod 755 "$W"
build=$top/build-bench
bindir=$(leo_pg_bindir)
pids=()
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
	local rc=$? p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	as_pg "$bindir/pg_ctl" -D "$W/pg/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$W"
	exit $rc
}
trap cleanup EXIT
# CPU ticks (user+sys) of one process; of the PostgreSQL server and its
# children as "pid ticks" lines; the ticks of those since an earlier list
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
pg_ticks() {
	local pm
	pm=$(head -n 1 "$W/pg/data/postmaster.pid")
	awk -v pm="$pm" '$1 == pm || $4 == pm { print $1, $14 + $15 }' /proc/[0-9]*/stat 2>/dev/null
}
ticks_since() { awk 'NR == FNR { t0[$1] = $2; next } { d += $2 - t0[$1] } END { print d + 0 }' "$1" -; }
per_us() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t / hz / n * 1e6 }'; }
log() { echo "[$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)] $*" >&2; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bench "$@"; }

log "building into $build"
leo_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
mkdir -p "$W/pg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$W/pg"
as_pg "$bindir/initdb" -D "$W/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
	>"$W/pg/initdb.log" 2>&1 || { cat "$W/pg/initdb.log" >&2; exit 1; }
as_pg "$bindir/pg_ctl" -D "$W/pg/data" -l "$W/pg/server.log" -w -t 120 \
	-o "-c listen_addresses='' -k $W/pg -c max_connections=50 -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=512MB -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" \
	start >/dev/null || { tail -n 30 "$W/pg/server.log" >&2; exit 1; }
export PGHOST=$W/pg PGPORT=5432 PGUSER=postgres
psql -X -q -d postgres -c "CREATE DATABASE bench"
"$top/scripts/schema-apply.sh" bench >/dev/null 2>&1
psql -X -q -d bench -c "CREATE EXTENSION pg_stat_statements"
psql -X -q -d postgres -c "CREATE ROLE leo_bench_sender LOGIN IN ROLE leo_deliver"
tenant=11111111-1111-4111-8111-111111111111
profiles=1000
q <<SQL
INSERT INTO tenant (tenant_id, tenant_name) VALUES ('$tenant', 'bench');
INSERT INTO cdp_profiles (tenant_id, profile_id, identities)
SELECT '$tenant', 'p' || g, jsonb_build_array('webpush:sub-' || g) FROM generate_series(0, $profiles - 1) g;
INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis, source)
SELECT '$tenant', 'p' || g, 'web_push', 'granted', 'consent', 'bench' FROM generate_series(0, $profiles - 1) g;
SQL

"$build/bench/deliver/leo_bench_sink" "$W/sink.log" >"$W/sink.port" &
pids+=($!)
for _ in $(seq 50); do grep -q PORT "$W/sink.port" 2>/dev/null && break; sleep 0.1; done
port=$(awk '{print $2}' "$W/sink.port")

log "ceiling: $n requests, $conc in flight, no database"
sink0=$(ticks "${pids[0]}")
ceiling=$("$build/bench/deliver/leo_bench_ceiling" "http://127.0.0.1:$port/send" "$n" "$conc")
sink_ceil=$(( $(ticks "${pids[0]}") - sink0 ))
ceiling_ps=$(sed -n 's/.*per_s=\([0-9]*\).*/\1/p' <<<"$ceiling")
ceiling_cpu=$(sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p' <<<"$ceiling")

log "throughput: $n queued deliveries through leo-deliver"
q -c "INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key, consent_legal_basis,
	consent_source, consent_granted_at)
	SELECT '$tenant', 'p' || (g % $profiles), 'web_push', 'bulk-' || g, 'consent', 'bench', now()
	FROM generate_series(1, $n) g"
cat >"$W/deliver.yaml" <<YAML
database:
  conninfo: "dbname=bench user=leo_bench_sender"
stats:
  listen: ""
log:
  level: warn
deliver:
  poll_interval_s: 1
  claim_batch: $conc
  channels:
    web_push:
      kind: http
      url: "http://127.0.0.1:$port/send"
      concurrency: $conc
YAML
"$build/leo-deliver" --config "$W/deliver.yaml" 2>"$W/deliver.log" &
dpid=$!
pids+=($dpid)
cpu0=$(ticks "$dpid")
pg_ticks >"$W/pg.ticks0"
sink0=$(ticks "${pids[0]}")
while [ "$(q -c "SELECT count(*) FROM delivery_log WHERE delivery_status = 'queued'")" != 0 ]; do
	kill -0 "$dpid" || { cat "$W/deliver.log" >&2; exit 1; }
	sleep 0.2
done
cpu1=$(ticks "$dpid")
pg_thr=$(pg_ticks | ticks_since "$W/pg.ticks0")
sink_thr=$(( $(ticks "${pids[0]}") - sink0 ))
# where the database's time went, per delivery
top_sql=$(q -F ' | ' -c "SELECT round((total_exec_time / $n * 1000)::numeric, 1), calls,
	regexp_replace(left(query, 70), '\s+', ' ', 'g') FROM pg_stat_statements
	WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
	ORDER BY total_exec_time DESC LIMIT 8")
read -r sent span <<<"$(q -F ' ' -c "SELECT count(*) FILTER (WHERE outcome = 'sent'),
	extract(epoch FROM max(ended_at) - min(started_at)) FROM delivery_attempt")"
thr_ps=$(awk -v n="$sent" -v s="$span" 'BEGIN { printf "%.0f", n / s }')
cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / t }')

log "latency: $rate deliveries/s for $seconds s, one commit and notification each"
: >"$W/sink.log.before"
"$build/bench/deliver/leo_bench_feeder" "dbname=bench" "$tenant" "$profiles" "$rate" "$seconds" \
	"$W/feed.log"
while [ "$(q -c "SELECT count(*) FROM delivery_log WHERE delivery_status = 'queued'")" != 0 ]; do
	sleep 0.2
done
kill -TERM "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
lat=$(python3 - "$W/feed.log" "$W/sink.log" <<'PY'
import sys
commit = dict(l.split() for l in open(sys.argv[1]))
arrive = {}
for l in open(sys.argv[2]):
    k, t = l.split()
    arrive.setdefault(k, t)
d = sorted((int(arrive[k]) - int(t)) / 1000 for k, t in commit.items() if k in arrive)
q = lambda p: d[min(len(d) - 1, int(p * len(d)))]
print("n=%d p50=%.1f p90=%.1f p99=%.1f max=%.1f" % (len(d), q(.5), q(.9), q(.99), d[-1]))
PY
)
lat_n=$(sed -n 's/n=\([0-9]*\).*/\1/p' <<<"$lat")
kill -TERM "$dpid"
wait "$dpid" || true

{
	echo "- $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n 1)), PostgreSQL $(q -c 'SHOW server_version') fsync=on synchronous_commit=on"
	echo "- \`bench/deliver/run.sh --n $n --concurrency $conc --rate $rate --seconds $seconds\`"
	echo
	echo "| figure | value |"
	echo "| --- | ---: |"
	echo "| ceiling: http transport on libcurl multi, no database, $conc in flight | $ceiling_ps/s |"
	echo "| leo-deliver: $sent deliveries, first attempt start to last end | $thr_ps/s |"
	echo "| leo-deliver / ceiling | $(awk -v a="$thr_ps" -v b="$ceiling_ps" 'BEGIN { printf "%.1f%%", 100 * a / b }') |"
	echo "| leo-deliver CPU for them (user+sys) | $cpu_s s |"
	echo "| CPU per request, ceiling: client / receiver | $(awk -v c="$ceiling_cpu" -v n="$n" 'BEGIN { printf "%.0f", c / n * 1e6 }') / $(per_us "$sink_ceil" "$n") us |"
	echo "| CPU per delivery, leo-deliver: sender / PostgreSQL / receiver | $(per_us $((cpu1 - cpu0)) "$sent") / $(per_us "$pg_thr" "$sent") / $(per_us "$sink_thr" "$sent") us |"
	echo "| commit -> request at $rate/s ($lat_n deliveries): p50 / p90 / p99 / max | $(sed 's/n=[0-9]* //; s/p50=//; s/ p90=/ \/ /; s/ p99=/ \/ /; s/ max=/ \/ /' <<<"$lat") ms |"
	echo
	echo "The database's time during the throughput run, per delivery (pg_stat_statements, statements nested in functions included):"
	echo
	echo "| us per delivery | calls | statement |"
	echo "| ---: | ---: | --- |"
	sed 's/^/| /; s/$/ |/' <<<"$top_sql"
} | tee "$W/report.md"
[ -z "$out" ] || cat "$W/report.md" >>"$out"
