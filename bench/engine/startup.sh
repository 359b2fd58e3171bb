#!/usr/bin/env bash
# Start-up time and memory of leo-alertd at N rules (see BENCHMARKS.md,
# "Memory and start-up at 1M rules").
#
#   bench/engine/startup.sh [-n N] [-k K] [-d DIR] [-s S] [BIN ...]
#
#   -n N    rules to load (default 1000000), bench/e2e/load.sql's data set
#   -k K    starts per binary (default 5)
#   -d DIR  keep the cluster and its data in DIR (default: a temporary
#           directory, removed at the end); a DIR already loaded with N
#           rules is reused as it is, so A/B runs need not reload
#   -s S    seconds to wait after ready before the second memory sample
#           (default 10)
#   BIN     leo-alertd binaries to compare (default: this tree, built
#           RelWithDebInfo into build-bench/); with several, the starts
#           alternate A B A B ... so drift in the machine's load hits all
#
# Per start it prints one line: seconds from exec to the first /readyz 200,
# VmRSS and VmHWM (MB) at ready and S seconds later, and leo_rules_active at
# both (the workers may still be indexing what was queued at ready);
# then the medians per binary.  The cluster is scripts/pgtmp.sh's (fsync off:
# only reads are measured) with shared_buffers 1GB; one start before the
# measured ones warms it.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$leo_top"

n=1000000
k=5
dir=""
settle=10
while getopts "n:k:d:s:h" o; do
	case $o in
	n) n=$OPTARG ;;
	k) k=$OPTARG ;;
	d) dir=$OPTARG ;;
	s) settle=$OPTARG ;;
	*) sed -n '2,21p' "$0"; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
bins=("$@")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/leo-startup.XXXXXX")
chmod 755 "$tmp"
keep=1
if [ -z "$dir" ]; then
	dir=$tmp/pg
	keep=0
fi
dpid=""
cleanup() {
	local rc=$?
	[ -n "$dpid" ] && kill -KILL "$dpid" 2>/dev/null || true
	scripts/pgtmp.sh stop "$dir" || true
	[ $keep -eq 1 ] || rm -rf "$dir"
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)] $*" >&2; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }
st_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mb() { awk -v a="$1" 'BEGIN { printf "%.0f", a / 1024 }'; }

if [ ${#bins[@]} -eq 0 ]; then
	log "building leo-alertd (RelWithDebInfo) into build-bench"
	leo_build build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
	bins=("$leo_top/build-bench/leo-alertd")
fi

eval "$(scripts/pgtmp.sh start "$dir")"
export PGHOST PGPORT PGUSER
# the server as bench/e2e/run.sh sets it up: the table (~240 MB at 1M rules)
# fits in shared_buffers, so every start reads the same warm pages
if [ "$(q postgres -c "SHOW shared_buffers")" != 1GB ]; then
	q postgres -c "ALTER SYSTEM SET shared_buffers = '1GB'" >/dev/null
	eval "$(scripts/pgtmp.sh restart "$dir")"
fi
if [ "$(cat "$dir/loaded" 2>/dev/null)" != "$n" ]; then
	log "loading $n rules into $dir"
	q postgres -c "DROP DATABASE IF EXISTS bench_d" >/dev/null
	q postgres -c "DO \$\$ BEGIN CREATE ROLE leo_daemon LOGIN;
		EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >/dev/null
	q postgres -c "CREATE DATABASE bench_d" >/dev/null
	scripts/schema-apply.sh bench_d
	q postgres -c "GRANT leo_alertd TO leo_daemon" >/dev/null
	q bench_d -v nrules="$n" -f bench/e2e/load.sql >/dev/null
	q bench_d -c "VACUUM ANALYZE" >/dev/null
	echo "$n" >"$dir/loaded"
fi
nr=$(q bench_d -c "SELECT count(*) FROM alert_rules WHERE status = 'ACTIVE'")
log "$nr ACTIVE rules in bench_d"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/leo.yaml" <<YAML
database:
  conninfo: "host=$PGHOST port=$PGPORT dbname=bench_d user=leo_daemon"
  pool_size: 4
engine:
  worker_threads: 2
  resync_interval_s: 3600
stats:
  listen: "127.0.0.1:$port"
log:
  level: info
YAML

rules_active() {
	curl -sf "http://127.0.0.1:$port/metrics" | awk '$1 == "leo_rules_active" { print $2 }'
}

# one_start BIN: "ready_s rss_ready hwm_ready rss_later hwm_later rules_ready rules"
one_start() {
	local bin=$1 t0 t1 r0 h0 r1 h1 rules0 rules
	t0=$(date +%s%N)
	"$bin" --config "$tmp/leo.yaml" >"$tmp/daemon.log" 2>&1 &
	dpid=$!
	until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do
		kill -0 "$dpid" 2>/dev/null || { tail "$tmp/daemon.log" >&2; return 1; }
		sleep 0.02
	done
	t1=$(date +%s%N)
	r0=$(st_kb "$dpid" VmRSS)
	h0=$(st_kb "$dpid" VmHWM)
	rules0=$(rules_active)
	sleep "$settle"
	r1=$(st_kb "$dpid" VmRSS)
	h1=$(st_kb "$dpid" VmHWM)
	rules=$(rules_active)
	kill -TERM "$dpid"
	wait "$dpid" || true
	dpid=""
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
	echo " $(mb "$r0") $(mb "$h0") $(mb "$r1") $(mb "$h1") $rules0 $rules"
}

echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $nr ACTIVE rules; $k starts per binary, alternating; second sample ${settle} s after ready"
log "warm-up start (not counted)"
one_start "${bins[0]}" >/dev/null
printf '%-4s %-3s %8s %9s %9s %9s %9s %9s %9s\n' bin run ready_s rss_rdy hwm_rdy rss_late hwm_late rules_rdy rules
for i in $(seq 1 "$k"); do
	for b in "${!bins[@]}"; do
		line=$(one_start "${bins[$b]}")
		printf '%-4s %-3s %8s %9s %9s %9s %9s %9s %9s\n' "$b" "$i" $line
		echo "$b $line" >>"$tmp/all.txt"
	done
done
echo "== medians (MB; ready in s)"
for b in "${!bins[@]}"; do
	awk -v b="$b" '$1 == b' "$tmp/all.txt" | sort -k1,1 >"$tmp/b.txt"
	med() { cut -d' ' -f"$1" "$tmp/b.txt" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
	echo "$b ${bins[$b]}: ready $(med 2) s, rss at ready $(med 3), hwm at ready $(med 4), rss later $(med 5), hwm later $(med 6), rules at ready $(med 7), later $(med 8)"
done
