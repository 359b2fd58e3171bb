#!/usr/bin/env bash
# Who uses the CPUs while the 50-symbol feed runs?  On a server run.sh left
# behind (--keep; PGHOST, PGPORT, PGUSER exported, bench_schema present),
# with N rules in bench_ctl, runs the feed (2 clients, 50 symbols a
# statement) for 11 s in each MODE and samples 8 s of it:
#   stopped  no daemon
#   quiet    leo-alertd running, prices never cross a rule
#   firing   leo-alertd running, probe rules firing (as in run.sh)
# and prints ticks/s, CPU seconds of the whole machine, of the feed's
# backends and client, of leo-alertd and of its backends, the alerts
# written and the WAL the server wrote meanwhile.
#
#   bench/e2e/cpu_split.sh [MODE ...]  (default: stopped quiet firing;
#                                       env: N rules, default 10000; POOL, BIN)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
gen=$top/build-bench/bench/e2e/leo_bench_load
bin=${BIN:-$top/build-bench/leo-alertd}
clk=$(getconf CLK_TCK)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/leo-cpu.XXXXXX")
. "$here/kept.sh"
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; rm -rf "$tmp"' EXIT
kept_db "${N:-10000}"
kept_yaml "${POOL:-4}"

# CPU seconds (utime + stime) of the given pids, in clock ticks
cpu() {
	local p v s=0
	for p in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || v=0
		s=$((s + ${v:-0}))
	done
	echo $s
}
machine() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
tasks() {
	curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "leo_agent_tasks_written_total" { print $2 }'
}

s() { awk -v t="$1" -v h="$clk" 'BEGIN { printf "%.2f", t / h }'; }
echo "| mode | ticks/s | machine | feed backends | feed client | leo-alertd | its backends | alerts written | WAL MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for mode in "${@:-stopped quiet firing}"; do
	for m in $mode; do
		[ "$m" != stopped ] && kept_start "$bin"
		flip=""
		[ "$m" = quiet ] && flip="--flip 0"
		"$gen" ticks --db dbname=bench_ctl --per-stmt 50 --clients 2 --seconds 11 $flip >"$tmp/feed.txt" &
		g=$!
		sleep 1	# the writers connect on their first write
		bpids=$(q postgres -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE usename = 'leo_daemon'")
		fpids=$(q postgres -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
			WHERE datname = 'bench_ctl' AND query LIKE 'UPDATE market_snapshot%'")
		a0=0; a1=0
		[ -n "$dpid" ] && a0=$(tasks)
		w0=$(q postgres -c "SELECT pg_current_wal_lsn()")
		m0=$(machine); f0=$(cpu $fpids); g0=$(cpu $g); d0=$(cpu $dpid); b0=$(cpu $bpids)
		sleep 8
		[ -n "$dpid" ] && a1=$(tasks)
		w1=$(q postgres -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$w0') / 1048576, 1)")
		m1=$(machine); f1=$(cpu $fpids); g1=$(cpu $g); d1=$(cpu $dpid); b1=$(cpu $bpids)
		wait $g
		[ -n "$dpid" ] && kept_stop
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$m" \
			"$(tr ' ' '\n' <"$tmp/feed.txt" | sed -n 's/^ticks_per_s=//p')" \
			"$(s $((m1 - m0)))" "$(s $((f1 - f0)))" "$(s $((g1 - g0)))" \
			"$(s $((d1 - d0)))" "$(s $((b1 - b0)))" "$(awk -v a="$a0" -v b="$a1" 'BEGIN { print b - a }')" "$w1"
	done
done
echo "(CPU seconds over 8 s of the feed; the machine has 2 CPUs, so 16 at most)"
if [ -s "$tmp/daemon.log" ]; then
	echo "daemon warnings:"
	sort "$tmp/daemon.log" | uniq -c | sort -rn | head
fi
