#!/usr/bin/env bash
# Cost of the market_snapshot NOTIFY trigger on the price feed.
#
# Starts its own throwaway PostgreSQL (scripts/pgtmp.sh: fsync=off,
# full_page_writes=off, synchronous_commit on), applies the schema, loads the
# 496 symbols of data/strucchange_SP2001_daily.csv and runs pgbench
# UPDATEs of market_snapshot with real prices of that file: statements of 1
# and of 50 symbols, at 1, 2 and 4 clients, each with the notify triggers
# disabled and enabled (then with a listener connected, draining
# notifications: bench/trigger/listen.c, a minimal libpq LISTEN loop, built
# here with cc and pkg-config libpq).  Each client updates its own slice of the symbols, as a
# sharded feed does, so clients never wait on each other's row locks.
# Disabled and enabled runs alternate, BENCH_ROUNDS times; the table shows
# the medians (ticks/s = rows updated per second), their ratio and the
# per-round ratios, because a shared machine is noisy.  It also shows the
# server's CPU time per tick (all PostgreSQL processes of the throwaway
# cluster, the listener's backend included), which other load on the machine
# disturbs much less than throughput.
#
#   bench/trigger/run.sh
#   env: BENCH_SECONDS=10 BENCH_CLIENTS="1 2 4" BENCH_ROUNDS=3
#        BENCH_STATEMENTS="single multi" (1-symbol and 50-symbol statements)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib.sh"

secs=${BENCH_SECONDS:-10}
clients=${BENCH_CLIENTS:-"1 2 4"}
rounds=${BENCH_ROUNDS:-3}
statements=${BENCH_STATEMENTS:-"single multi"}
csv=$top/data/strucchange_SP2001_daily.csv

work=$(mktemp -d /tmp/leo-bench-trigger.XXXXXX)
chmod 755 "$work"
listener=
cleanup() {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null || true
	"$top/scripts/pgtmp.sh" stop "$work/pg" || true
	rm -rf "$work"
}
trap cleanup EXIT

cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$work/listen" "$here/listen.c" \
	$(pkg-config --cflags --libs libpq)

eval "$("$top/scripts/pgtmp.sh" start "$work/pg")"
export PGHOST PGPORT PGUSER
db=leo_bench
psql -X -q -d postgres -c "CREATE DATABASE $db"
"$top/scripts/schema-apply.sh" "$db" 2>/dev/null

# bench_tick(d, k): the price of symbol number k on trading day d.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE TABLE bench_csv (ts timestamptz, symbol text, price numeric);
\copy bench_csv FROM '$csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE bench_tick AS
	SELECT dense_rank() OVER (ORDER BY ts)::int AS d,
	       dense_rank() OVER (ORDER BY symbol)::int AS k, symbol, price
	FROM bench_csv;
ALTER TABLE bench_tick ADD PRIMARY KEY (d, k);
INSERT INTO market_snapshot (symbol, price, change_percent)
	SELECT DISTINCT ON (symbol) symbol, price, 0 FROM bench_csv ORDER BY symbol, ts;
VACUUM ANALYZE;
SQL
nsym=$(psql -X -Atq -d "$db" -c "SELECT max(k) FROM bench_tick")
ndays=$(psql -X -Atq -d "$db" -c "SELECT max(d) FROM bench_tick")

# One symbol per statement; 50 consecutive symbols of the client's slice.
cat >"$work/single.sql" <<'SQL'
\set slice :nsym / :nclients
\set k :client_id * :slice + random(1, :slice)
\set d random(1, :ndays)
UPDATE market_snapshot m SET price = t.price,
	change_percent = round((t.price - m.price) / m.price * 100, 4)
FROM bench_tick t WHERE t.d = :d AND t.k = :k AND m.symbol = t.symbol;
SQL
cat >"$work/multi.sql" <<'SQL'
\set slice :nsym / :nclients
\set k0 :client_id * :slice + random(0, :slice - 50)
\set d random(1, :ndays)
UPDATE market_snapshot m SET price = t.price,
	change_percent = round((t.price - m.price) / m.price * 100, 4)
FROM bench_tick t WHERE t.d = :d AND t.k > :k0 AND t.k <= :k0 + 50 AND m.symbol = t.symbol;
SQL

# CPU seconds used so far by the cluster: the postmaster, its live children
# and (cutime, cstime) the children it has reaped, such as exited backends.
server_cpu() {
	local pm
	pm=$(head -n 1 "$work/pg/data/postmaster.pid")
	{ cat "/proc/$pm/stat"; for p in $(pgrep -P "$pm"); do cat "/proc/$p/stat" 2>/dev/null || true; done; } |
		sed 's/^.*) //' |
		awk -v hz="$(getconf CLK_TCK)" 'NR == 1 { t += $14 + $15 } { t += $12 + $13 } END { printf "%.2f\n", t / hz }'
}

updates() {
	psql -X -Atq -d "$db" -c "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'market_snapshot'"
}

# run SCRIPT CLIENTS on|off -> "ticks/s notifications server-CPU-µs/tick"
run() {
	local script=$1 c=$2 mode=$3 before after out tps xacts notes=0 cpu0 cpu1
	psql -X -q -d "$db" -c "ALTER TABLE market_snapshot ${mode/on/ENABLE}${mode/off/DISABLE} TRIGGER market_snapshot_notify_update" \
		-c "VACUUM market_snapshot" -c "CHECKPOINT" 2>/dev/null
	if [ "$mode" = on ]; then
		"$work/listen" "$db" leo_market >"$work/listen.out" 2>"$work/listen.err" &
		listener=$!
		until grep -q listening "$work/listen.err"; do sleep 0.1; done
	fi
	before=$(updates)
	cpu0=$(server_cpu)
	out=$(pgbench -n -c "$c" -j "$c" -T "$secs" -D nclients="$c" -D nsym="$nsym" \
		-D ndays="$ndays" -f "$work/$script.sql" "$db" 2>&1)
	sleep 1		# backends flush their statistics on exit
	after=$(updates)
	if [ "$mode" = on ]; then
		sleep 0.5
		kill "$listener"
		wait "$listener"
		listener=
		read -r notes _ malformed <"$work/listen.out"
		[ "$malformed" -eq 0 ] || { echo "malformed notifications: $malformed" >&2; exit 1; }
		sleep 0.2	# the listener's backend exits and is reaped
	fi
	cpu1=$(server_cpu)
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")
	xacts=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	[ -n "$tps" ] && [ -n "$xacts" ] && [ "$xacts" -gt 0 ] || { echo "$out" >&2; exit 1; }
	# ticks/s: statements per second times the rows each really updated.
	awk -v tps="$tps" -v rows="$((after - before))" -v x="$xacts" -v n="$notes" \
		-v cpu="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" \
		'BEGIN { printf "%.0f %d %.1f\n", tps * rows / x, n, 1e6 * cpu / rows }'
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

echo "| statement | clients | no trigger, ticks/s | trigger + listener, ticks/s | ratio | ratio per round | notifications/s | server CPU µs/tick, no trigger | with trigger | CPU ratio |"
echo "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
for script in $statements; do
	for c in $clients; do
		offs=() ons=() ratios=() notes=() coffs=() cons=()
		for ((r = 0; r < rounds; r++)); do
			read -r off _ coff < <(run "$script" "$c" off)
			read -r on n con < <(run "$script" "$c" on)
			offs+=("$off") ons+=("$on") notes+=("$((n / secs))") coffs+=("$coff") cons+=("$con")
			ratios+=("$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.0f%%", 100 * a / b }')")
		done
		off=$(printf '%s\n' "${offs[@]}" | median)
		on=$(printf '%s\n' "${ons[@]}" | median)
		n=$(printf '%s\n' "${notes[@]}" | median)
		coff=$(printf '%s\n' "${coffs[@]}" | median)
		con=$(printf '%s\n' "${cons[@]}" | median)
		awk -v s="$script" -v c="$c" -v off="$off" -v on="$on" -v n="$n" -v rr="${ratios[*]}" \
			-v coff="$coff" -v con="$con" 'BEGIN {
			printf "| %s | %d | %d | %d | %.0f%% | %s | %d | %.1f | %.1f | %.2f |\n",
				(s == "single" ? "1 symbol" : "50 symbols"), c, off, on, 100 * on / off, rr, n,
				coff, con, con / coff }'
	done
done
