#!/usr/bin/env bash
# Ingest A/B of leo-alertd builds: the 50-symbol feed's ticks/s with each
# build running and rules firing, in turn, round after round, beside the
# same feed with no daemon (the "stopped" rate).  On a server run.sh left
# behind (--keep; PGHOST, PGPORT, PGUSER exported, bench_schema present):
#
#   bench/e2e/ab_ingest.sh ROUNDS BINARY... (env: N rules, default 10000;
#                                            POOL, default 4; SECS, default 10)
#
# Prints one line per round: the load, the stopped rate, each binary's rate.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rounds=$1
shift
gen=$top/build-bench/bench/e2e/leo_bench_load
tmp=$(mktemp -d "${TMPDIR:-/tmp}/leo-ab.XXXXXX")
dpid=""
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; rm -rf "$tmp"' EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }
q postgres -c "DROP DATABASE IF EXISTS bench_ctl" -c "CREATE DATABASE bench_ctl TEMPLATE bench_schema" >/dev/null
q bench_ctl -v nrules="${N:-10000}" -f "$here/load.sql" >/dev/null

feed() {
	"$gen" ticks --db dbname=bench_ctl --per-stmt 50 --clients 2 --seconds "${SECS:-10}" "$@" |
		tr ' ' '\n' | sed -n 's/^ticks_per_s=//p'
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/leo.yaml" <<YAML
database:
  conninfo: "dbname=bench_ctl user=leo_daemon"
  pool_size: ${POOL:-4}
engine:
  worker_threads: 2
  flood_max_fires: 1000000
stats:
  listen: "127.0.0.1:$port"
log:
  level: warn
YAML
for r in $(seq "$rounds"); do
	printf 'round %s load %s stopped %s' "$r" "$(cut -d' ' -f1 /proc/loadavg)" "$(feed)"
	for bin in "$@"; do
		"$bin" --config "$tmp/leo.yaml" 2>>"$tmp/daemon.log" &
		dpid=$!
		for _ in $(seq 1 3000); do
			curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
			sleep 0.02
		done
		printf ' %s' "$(feed)"
		kill -TERM $dpid
		wait $dpid || true
		dpid=""
	done
	echo
done
if [ -s "$tmp/daemon.log" ]; then
	echo "daemon warnings:"
	sort "$tmp/daemon.log" | uniq -c | sort -rn | head
fi
