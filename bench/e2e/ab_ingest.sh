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
. "$here/kept.sh"
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; rm -rf "$tmp"' EXIT
kept_db "${N:-10000}"
kept_yaml "${POOL:-4}"

feed() {
	"$gen" ticks --db dbname=bench_ctl --per-stmt 50 --clients 2 --seconds "${SECS:-10}" "$@" |
		tr ' ' '\n' | sed -n 's/^ticks_per_s=//p'
}

for r in $(seq "$rounds"); do
	printf 'round %s load %s stopped %s' "$r" "$(cut -d' ' -f1 /proc/loadavg)" "$(feed)"
	for bin in "$@"; do
		kept_start "$bin"
		printf ' %s' "$(feed)"
		kept_stop
	done
	echo
done
if [ -s "$tmp/daemon.log" ]; then
	echo "daemon warnings:"
	sort "$tmp/daemon.log" | uniq -c | sort -rn | head
fi
