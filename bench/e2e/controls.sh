#!/usr/bin/env bash
# Controls for the ingest figures of run.sh: what slows UPDATE market_snapshot
# down once leo-alertd runs?  On a server run.sh left behind (--keep; PGHOST,
# PGPORT, PGUSER exported, database bench_schema present), loads N rules into
# bench_ctl and runs the same feed (K symbols per statement, C clients, S
# seconds) again and again:
#   bare      every trigger on market_snapshot disabled (the ceiling)
#   notify    the schema's notification triggers, nobody listening
#   listener  the same with a psql session LISTENing on leo_market that reads
#             its notifications every 50 ms (PostgreSQL's own cost of a
#             listener, without the daemon's work)
#   writer    no daemon; leo_bench_load unnest writes alert batches of 500
#             rows beside the feed (one transaction each)
#   writer+notify  the same with one pg_notify per delivery row, as the
#             daemon's writer sends them
#   quiet     leo-alertd running, prices never cross a rule (no writes)
#   firing    leo-alertd running, probe rules firing as in run.sh
# (seven runs) and prints ticks/s and the server's wait events for each.
#
#   bench/e2e/controls.sh [N] [K] [C] [S] [P]  (defaults 10000 50 2 10 4;
#                                              P: the daemon's pool_size,
#                                              i.e. its writer connections)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
n=${1:-10000}
k=${2:-50}
c=${3:-2}
secs=${4:-10}
pool=${5:-4}
gen=$top/build-bench/bench/e2e/leo_bench_load
bin=$top/build-bench/leo-alertd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/leo-ctl.XXXXXX")
lpid=""
. "$here/kept.sh"
trap '[ -n "$lpid" ] && kill $lpid 2>/dev/null; [ -n "$dpid" ] && kill $dpid 2>/dev/null; rm -rf "$tmp"' EXIT
kept_db "$n"

# feed NAME [generator args]: ticks/s and wait events
feed() {
	local name=$1 res
	shift
	printf '%s\n' "SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') FROM pg_stat_activity WHERE datname = 'bench_ctl' AND backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()" '\watch 0.1' |
		timeout "$secs" psql -X -At -d bench_ctl >"$tmp/w.txt" 2>/dev/null &
	local wpid=$!
	res=$("$gen" ticks --db dbname=bench_ctl --per-stmt "$k" --clients "$c" --seconds "$secs" "$@")
	wait $wpid || true
	printf '| %s | %s | %s | %s |\n' "$name" "$(tr ' ' '\n' <<<"$res" | sed -n 's/^ticks_per_s=//p')" \
		"$(cut -d' ' -f1 /proc/loadavg)" \
		"$(grep -v '^$' "$tmp/w.txt" | sort | uniq -c | sort -rn | head -4 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
}

echo "| $k sym/stmt, $c clients, ${secs} s, $n rules | ticks/s | load | waits (type:event samples) |"
echo "| --- | ---: | ---: | --- |"
q bench_ctl -c "ALTER TABLE market_snapshot DISABLE TRIGGER USER" >/dev/null
feed bare
q bench_ctl -c "ALTER TABLE market_snapshot ENABLE TRIGGER USER" >/dev/null
feed notify
printf '%s\n' 'LISTEN leo_market;' 'SELECT 1 \watch 0.05' | psql -X -q -d bench_ctl >/dev/null 2>&1 &
lpid=$!
sleep 1
feed listener
kill $lpid
lpid=""

# a concurrent writer of alert batches (500 rows, one transaction each),
# without and with one pg_notify per row: is it the writes or the NOTIFY?
for mode in writer writer+notify; do
	"$gen" unnest --db dbname=bench_ctl --tenant 00000000-0000-4000-8000-000000000001 \
		--batch 500 --seconds "$secs" --tag "ctl$$-$mode" \
		$( [ $mode = writer+notify ] && echo --notify ) >"$tmp/unnest.txt" &
	upid=$!
	feed "$mode"
	wait $upid || true
	echo "|   (the writer: $(cat "$tmp/unnest.txt")) | | | |"
done

kept_yaml "$pool"
kept_start "$bin"
feed quiet --flip 0
feed firing
kept_stop
