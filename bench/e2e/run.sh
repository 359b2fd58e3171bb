#!/usr/bin/env bash
# End-to-end benchmark of leo-alertd against its ceilings and two peers, all
# in one run on the same data.  See BENCHMARKS.md, "End to end (bench/e2e)".
#
#   bench/e2e/run.sh [--rules "N ..."] [--full] [--seconds S] [--storm-max A]
#                    [--fsync on|off] [--out FILE] [--keep] [--writer-delay-ms D]
#                    [--pool-size P]
#
#   --rules "N ..."  rule counts to run (default "10000 100000")
#   --full           add 1000000 to the rule counts
#   --seconds S      length of every timed measurement (default 10)
#   --storm-max A    alerts the storm aims at, at most (default 100000)
#   --fsync on|off   the server's fsync (default on; off only to show what
#                    the disk's flush time costs, never for headline figures)
#   --out FILE       also append the markdown report to FILE
#   --keep           leave the server and its data directory behind
#   --writer-delay-ms D  the daemon's writer.batch_max_delay_ms (default: the
#                    daemon's own default)
#   --pool-size P    the daemon's database.pool_size (default 4)
#
# It starts its own throwaway PostgreSQL (fsync on, synchronous_commit on,
# full_page_writes on: durable commits, unlike scripts/pgtmp.sh), builds
# leo-alertd and the load generator (RelWithDebInfo), and for each N:
# loads the data (load.sql) into a template database, clones it four times
# (ceilings, daemon, peer 1, peer 2) and measures:
#   ceilings   UPDATE market_snapshot with every trigger disabled, 1 and 50
#              symbols per statement, 1/2/4 clients; unnest() batches of 500
#              alerts (delivery_log + agent_task) on one connection;
#   stopped    the schema's notification triggers on, no daemon;
#   daemon     ready time, RSS, a fixed 1,000 ticks/s feed, per-row and
#              50-symbol feeds as fast as 2 clients go, a firing storm;
#   peer 1     PL/pgSQL row trigger (peer_trigger.sql): ticks/s, storm;
#   peer 2     polling statement every 100 ms (peer_poll.sql, poll_once.sql).
set -euo pipefail

cmdline="bench/e2e/run.sh $*"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib.sh"

rules="10000 100000"
full=0
secs=10
storm_max=100000
fsync=on
out=""
keep=0
wdelay=""
pool=4
while [ $# -gt 0 ]; do
	case $1 in
	--rules) rules=$2; shift 2 ;;
	--full) full=1; shift ;;
	--seconds) secs=$2; shift 2 ;;
	--storm-max) storm_max=$2; shift 2 ;;
	--fsync) fsync=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--writer-delay-ms) wdelay=$2; shift 2 ;;
	--pool-size) pool=$2; shift 2 ;;
	-h|--help) sed -n '2,32p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 64 ;;
	esac
done
[ $full -eq 1 ] && rules="$rules 1000000"

W=$(mktemp -d "${TMPDIR:-/tmp}/leo-e2e.XXXXXX")
chmod 755 "$W"
build=$top/build-bench
bin=$build/leo-alertd
gen=$build/bench/e2e/leo_bench_load
report=$W/report.md
dpid=""
spid=""

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cleanup() {
	local rc=$?
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	[ -n "$dpid" ] && kill -KILL "$dpid" 2>/dev/null || true
	if [ $keep -eq 0 ]; then
		as_pg "$bindir/pg_ctl" -D "$W/pg/data" -m fast -w stop >/dev/null 2>&1 || true
		rm -rf "$W"
	else
		echo "kept $W" >&2
	fi
	exit $rc
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)] $*" >&2; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# cpu_sum PID...: utime+stime ticks of the processes together (a missing
# one counts 0)
cpu_sum() { local p t=0; for p; do t=$((t + $(cpu_of "$p" 2>/dev/null || echo 0))); done; echo $t; }
# top_waits FILE: the six most frequent lines of a wait-event sample file,
# as "event count; ..."
top_waits() {
	grep -v '^$' "$1" | sort | uniq -c | sort -rn | head -6 |
		awk '{ c = $1; $1 = ""; sub(/^ /, ""); printf "%s%s %s", (NR > 1 ? "; " : ""), $0, c }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
fmt() { printf "%'.0f" "$1"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
clk=$(getconf CLK_TCK)
# perf with the software cpu-clock event (hardware counters are often absent
# in VMs); profiles are optional
have_perf=0
perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1 && have_perf=1

# perf_start NAME PIDS: sample PIDS (comma-separated) until perf_stop
perf_start() {
	[ $have_perf -eq 1 ] || return 0
	perf record -e cpu-clock -F 499 -g -p "$2" -o "$W/perf-$1.data" >/dev/null 2>&1 &
	perf_pid=$!
}
perf_stop() {
	[ $have_perf -eq 1 ] && [ -n "${perf_pid:-}" ] || return 0
	kill -INT "$perf_pid" 2>/dev/null || true
	wait "$perf_pid" 2>/dev/null || true
	perf_pid=""
	perf report -i "$W/perf-$1.data" --stdio --no-children --sort comm,dso,symbol \
		-g none --percent-limit 1.5 2>/dev/null | grep -E '^ +[0-9]' | head -25 >"$W/perf-$1.txt" || true
}
# the system interpreter: a version manager's shim costs seconds per call here
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# --- build -------------------------------------------------------------------
log "building into $build"
leo_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null

# --- server --------------------------------------------------------------------
bindir=$(leo_pg_bindir)
mkdir -p "$W/pg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$W/pg"
as_pg "$bindir/initdb" -D "$W/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
	>"$W/pg/initdb.log" 2>&1 || { cat "$W/pg/initdb.log" >&2; exit 1; }
pgopts="-c listen_addresses='' -k $W/pg -c max_connections=100"
pgopts+=" -c fsync=$fsync -c synchronous_commit=on -c full_page_writes=on"
pgopts+=" -c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min"
pgopts+=" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
pgopts+=" -c track_functions=pl"
# the storm is timed by the commit times of its own transactions
pgopts+=" -c track_commit_timestamp=on"
as_pg "$bindir/pg_ctl" -D "$W/pg/data" -l "$W/pg/server.log" -w -t 120 -o "$pgopts" start \
	>/dev/null || { tail -n 30 "$W/pg/server.log" >&2; exit 1; }
export PGHOST=$W/pg PGPORT=5432 PGUSER=postgres
pgver=$(q postgres -c "SHOW server_version")
# the disk's flush time: the floor of every durable commit
fsync_us=$(as_pg "$bindir/pg_test_fsync" -s 1 -f "$W/pg/fsync.tmp" 2>/dev/null |
	awk '/^ +fdatasync +[0-9]/ { print $(NF - 1); exit }')
q postgres -c "CREATE ROLE leo_daemon LOGIN" >/dev/null
q postgres -c "CREATE DATABASE bench_schema" >/dev/null
"$top/scripts/schema-apply.sh" bench_schema
q postgres -c "GRANT leo_alertd TO leo_daemon" >/dev/null
q bench_schema -c "CREATE EXTENSION pg_stat_statements" >/dev/null

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/leo.yaml" <<YAML
database:
  conninfo: "dbname=bench_d user=leo_daemon"
  pool_size: $pool
engine:
  worker_threads: 2
  resync_interval_s: 3600
  flood_max_fires: 1000000
  flood_window_seconds: 180
writer:
  batch_max_rows: 500
${wdelay:+  batch_max_delay_ms: $wdelay
}stats:
  listen: "127.0.0.1:$port"
log:
  level: warn
YAML

{
	echo "### Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- command: \`$cmdline\` (timed measurements of ${secs} s each)"
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"\
		"$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, shared with other work"
	echo "- PostgreSQL $pgver, own cluster: fsync=$fsync, synchronous_commit=on, full_page_writes=on,"\
		"shared_buffers=1GB, max_wal_size=8GB, checkpoint_timeout=30min"
	echo "- the disk: pg_test_fsync fdatasync of one 8 kB write ${fsync_us} us (the floor of each commit)"
	echo "- leo-alertd $(git -C "$top" rev-parse --short HEAD) RelWithDebInfo; pool_size $pool,"\
		"worker_threads 2, batch 500 rows / ${wdelay:-0} ms delay, flood guard raised to 1,000,000"
	echo
} >"$report"

# gen_ticks DB K C [more args]: the generator's result line
gen_ticks() {
	local db=$1 k=$2 c=$3
	shift 3
	"$gen" ticks --db "dbname=$db" --per-stmt "$k" --clients "$c" --seconds "$secs" "$@"
}

# latency PHASE TICKLOG RECVLOG: tick commit -> leo_delivery received, ms
latency() {
	local phase=$1
	q bench_d -c "\copy bench_ticks (symbol, price, commit_us) FROM '$2' CSV" >/dev/null
	q bench_d -c "UPDATE bench_ticks SET phase = '$phase' WHERE phase IS NULL" >/dev/null
	q bench_d -c "\copy bench_recv (tenant, delivery_id, recv_us) FROM '$3' CSV" >/dev/null
	q bench_d -c "UPDATE bench_recv SET phase = '$phase' WHERE phase IS NULL" >/dev/null
	q bench_d -c "ANALYZE bench_ticks; ANALYZE bench_recv" >/dev/null
	q bench_d -F ' ' -c "
		SELECT count(*),
		       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY lat) / 1000)::numeric, 2),
		       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY lat) / 1000)::numeric, 2),
		       round((max(lat) / 1000.0)::numeric, 2)
		  FROM (SELECT r.recv_us - tk.commit_us AS lat
			  FROM bench_recv r
			  JOIN delivery_log d ON d.delivery_id = r.delivery_id
			  JOIN agent_task a ON a.task_id = d.idempotency_key
			  CROSS JOIN LATERAL (
				SELECT t.commit_us FROM bench_ticks t
				 WHERE t.phase = r.phase
				   AND t.symbol = a.reasoning_trace->0->>'symbol'
				   AND t.price = (a.reasoning_trace->0->'observed'->>'price')::numeric
				 ORDER BY t.commit_us DESC LIMIT 1) tk
			 WHERE r.phase = '$phase') x"
}

# daemon_feed NAME K C [--rate R]: one feed through the running daemon
daemon_feed() {
	local name=$1 k=$2 c=$3 res m0 m1 cpu0 cpu1 ticks t0 base cau lat hl
	shift 3
	m0=$W/m0-$name.prom
	m1=$W/m1-$name.prom
	local fstart
	fstart=$(now_us)
	"$py" "$here/e2e.py" scrape "$port" "$m0"
	base=$("$py" "$here/e2e.py" metric "$m0" leo_ticks_received_total)
	cpu0=$(cpu_of "$dpid")
	# what the server's backends wait on, every 100 ms during the feed
	printf '%s\n' "SELECT coalesce(backend_type, '') || ':' || coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') FROM pg_stat_activity WHERE datname = 'bench_d' AND state = 'active' AND pid <> pg_backend_pid()" '\watch 0.1' |
		timeout "$secs" psql -X -At -d bench_d >"$W/waits-$name.txt" 2>/dev/null &
	local wpid=$!
	res=$(gen_ticks bench_d "$k" "$c" --ticklog "$W/ticks-$name.csv" \
		--listen "$W/recv-$name.csv" --drain 2 "$@")
	wait $wpid || true
	ticks=$(kv "$res" ticks)
	t0=$(kv "$res" t0_us)
	log "  $name: feed done, waiting for the daemon" 
	# wait until the daemon has received every tick (at most 120 s, or
	# until nothing moved for 5 s)
	local got last=-1 still=0
	for _ in $(seq 1 1200); do
		"$py" "$here/e2e.py" scrape "$port" "$m1"
		got=$("$py" "$here/e2e.py" metric "$m1" leo_ticks_received_total)
		[ "$got" -ge $((base + ticks)) ] && break
		if [ "$got" = "$last" ]; then
			still=$((still + 1))
			[ $still -ge 50 ] && { log "  $name: daemon received $((got - base)) of $ticks ticks"; break; }
		else
			still=0
		fi
		last=$got
		sleep 0.1
	done
	sleep 1
	"$py" "$here/e2e.py" scrape "$port" "$m1"
	cpu1=$(cpu_of "$dpid")
	log "  $name: daemon has the ticks; computing" 
	cau=$("$py" "$here/e2e.py" caught "$W/samples.txt" "$t0" "$ticks" "$base")
	lat=$(latency "$name" "$W/ticks-$name.csv" "$W/recv-$name.csv")
	hl=$("$py" "$here/e2e.py" hist "$m0" "$m1" leo_tick_to_commit_seconds)
	local stages="" st sp50 sp99
	for st in evaluate writer_queue batch commit; do
		read -r _ sp50 sp99 <<<"$("$py" "$here/e2e.py" hist "$m0" "$m1" \
			"leo_firing_stage_seconds{stage=\"$st\"}")"
		stages+="${stages:+, }$st $sp50/$sp99"
	done
	R[$name.stages]=$stages
	R[$name.res]=$res
	R[$name.cpu_us]=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$ticks" -v h="$clk" \
		'BEGIN { printf "%.1f", (b - a) / h * 1e6 / (t > 0 ? t : 1) }')
	# net of the idle rate (scrapes, timers) over the same wall time
	R[$name.cpu_net]=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$ticks" -v h="$clk" \
		-v i="$idle_rate" -v w="$(( $(now_us) - fstart ))" \
		'BEGIN { v = ((b - a) / h - i * w / 1e6) * 1e6 / (t > 0 ? t : 1); printf "%.1f", (v < 0 ? 0 : v) }')
	R[$name.waits]=$(top_waits "$W/waits-$name.txt")
	R[$name.caught]=$cau
	R[$name.lat]=$lat
	R[$name.hist]=$hl
	R[$name.load]=$(cut -d' ' -f1 /proc/loadavg)
	log "  $name: waits (backend:type:event count): ${R[$name.waits]}"
	log "  $name: $res | caught-up/qmax: $cau | latency n/p50/p99/max ms: $lat | hist n/p50/p99 ms: $hl | cpu/tick ${R[$name.cpu_us]} us"
}

declare -A R

run_n() {
	local n=$1 t_load nr k c res t0 t1 storm_syms expect stm tcommit tdone reached
	log "N=$n: loading"
	q postgres -c "DROP DATABASE IF EXISTS bench_tpl" -c "CREATE DATABASE bench_tpl TEMPLATE bench_schema" >/dev/null
	t0=$(now_us)
	q bench_tpl -v nrules="$n" -f "$here/load.sql" >/dev/null
	t1=$(now_us)
	t_load=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	nr=$(q bench_tpl -c "SELECT count(*) FROM alert_rules WHERE status = 'ACTIVE'")
	log "N=$n: $nr ACTIVE rules loaded in ${t_load}s; cloning"
	for d in c d p1 p2; do
		q postgres -c "DROP DATABASE IF EXISTS bench_$d" -c "CREATE DATABASE bench_$d TEMPLATE bench_tpl" >/dev/null
	done
	q bench_d -c "CREATE TABLE bench_ticks (phase text, symbol text, price numeric, commit_us bigint);
		CREATE INDEX ON bench_ticks (phase, symbol, price);
		CREATE TABLE bench_recv (phase text, tenant uuid, delivery_id bigint, recv_us bigint)" >/dev/null
	storm_syms=$(q bench_tpl -c "
		SELECT array_agg(symbol ORDER BY rank)::text FROM (
		  SELECT b.rank, b.symbol, count(*) AS cnt,
			 sum(count(*)) OVER (ORDER BY b.rank) AS cum
		    FROM bench_base b JOIN alert_rules r ON r.symbol = b.symbol
		   WHERE r.condition_logic->>'operator' = 'crosses_above' AND r.status = 'ACTIVE'
		   GROUP BY b.rank, b.symbol) x
		 WHERE cum - cnt < $storm_max")
	expect=$(q bench_tpl -c "SELECT count(*) FROM alert_rules WHERE status = 'ACTIVE'
		AND condition_logic->>'operator' = 'crosses_above' AND symbol = ANY('$storm_syms')")
	stm="UPDATE market_snapshot m SET price = round(b.p0 * 1.021, 4)
		FROM bench_base b WHERE m.symbol = b.symbol AND b.symbol = ANY('$storm_syms')"
	R[n$n.rules]=$nr
	R[n$n.load]=$t_load
	R[n$n.storm_syms]=$(tr -cd ',' <<<"$storm_syms" | wc -c | awk '{ print $1 + 1 }')
	R[n$n.expect]=$expect

	# ceilings
	q bench_c -c "ALTER TABLE market_snapshot DISABLE TRIGGER USER" >/dev/null
	for k in 1 50; do
		for c in 1 2 4; do
			res=$(gen_ticks bench_c $k $c)
			R[n$n.ceil.$k.$c]=$(kv "$res" ticks_per_s)
			log "  ceiling K=$k C=$c: $res"
		done
	done
	res=$("$gen" unnest --db dbname=bench_c --batch 500 --seconds "$secs" \
		--tenant 00000000-0000-4000-8000-000000000000)
	R[n$n.unnest]=$(kv "$res" rows_per_s)
	log "  ceiling unnest: $res"

	# schema triggers on, daemon stopped
	for k in 1 50; do
		res=$(gen_ticks bench_d $k 2)
		R[n$n.stop.$k]=$(kv "$res" ticks_per_s)
		log "  stopped K=$k C=2: $res"
	done

	# the daemon
	log "N=$n: starting leo-alertd"
	t0=$(now_us)
	"$bin" --config "$W/leo.yaml" >"$W/daemon-$n.log" 2>&1 &
	dpid=$!
	for _ in $(seq 1 6000); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
		kill -0 "$dpid" || { tail "$W/daemon-$n.log" >&2; exit 1; }
		sleep 0.02
	done
	t1=$(now_us)
	R[n$n.ready]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
	R[n$n.rss_ready]=$(rss_kb "$dpid")
	log "  ready in ${R[n$n.ready]} s, RSS ${R[n$n.rss_ready]} kB"
	rm -f "$W/samples.txt"
	"$py" "$here/e2e.py" sample "$port" bench_d "$dpid" "$W/samples.txt" &
	spid=$!
	local ic0 it0
	ic0=$(cpu_of "$dpid")
	it0=$(now_us)
	sleep 5
	idle_rate=$(awk -v a="$ic0" -v b="$(cpu_of "$dpid")" -v h="$clk" -v w="$(( $(now_us) - it0 ))" \
		'BEGIN { printf "%.5f", (b - a) / h / (w / 1e6) }')
	R[n$n.idle]=$idle_rate
	log "  idle CPU (sampled every 0.5 s): $idle_rate s/s"
	daemon_feed n$n.fixed 1 8 --rate 1000
	daemon_feed n$n.fixed50 50 1 --rate 1000
	daemon_feed n$n.row 1 2
	perf_start s50-$n "$dpid"
	daemon_feed n$n.s50 50 2
	perf_stop s50-$n

	# storm: every ACTIVE rule whose crossing lies between the current price
	# and p0 x 1.021 fires (crosses_above rules and probes below p0)
	expect=$(q bench_d -c "SELECT count(*) FROM alert_rules r
		JOIN market_snapshot m ON m.symbol = r.symbol JOIN bench_base b ON b.symbol = r.symbol
		WHERE r.status = 'ACTIVE' AND r.symbol = ANY('$storm_syms')
		  AND r.condition_logic->>'operator' IN ('crosses_above', 'crosses')
		  AND (r.condition_logic->>'value')::numeric > m.price
		  AND (r.condition_logic->>'value')::numeric <= round(b.p0 * 1.021, 4)")
	R[n$n.expect]=$expect
	log "N=$n: storm over ${R[n$n.storm_syms]} symbols, $expect alerts expected"
	q bench_d -c "SELECT pg_stat_statements_reset(), pg_stat_reset()" >/dev/null
	"$py" "$here/e2e.py" scrape "$port" "$W/m0-storm.prom"
	local base cpu0 cpu1 bpids bcpu0 bcpu1
	base=$("$py" "$here/e2e.py" metric "$W/m0-storm.prom" leo_agent_tasks_written_total)
	bpids=$(q bench_d -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE usename = 'leo_daemon'")
	cpu0=$(cpu_of "$dpid")
	bcpu0=$(cpu_sum ${bpids//,/ })
	perf_start storm-$n "$dpid,$bpids"
	# what the daemon's backends wait on, every 10 ms of the storm
	printf '%s\n' "SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') FROM pg_stat_activity WHERE usename = 'leo_daemon' AND state = 'active'" '\watch 0.01' |
		psql -X -At -d bench_d >"$W/waits-storm-$n.txt" 2>/dev/null &
	local wpid=$!
	q bench_d -c "$stm" >/dev/null
	read -r _ reached < <("$py" "$here/e2e.py" storm "$port" "$base" "$expect" 300)
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	R[n$n.storm_waits]=$(top_waits "$W/waits-storm-$n.txt")
	cpu1=$(cpu_of "$dpid")
	bcpu1=$(cpu_sum ${bpids//,/ })
	perf_stop storm-$n
	"$py" "$here/e2e.py" scrape "$port" "$W/m1-storm.prom"
	R[n$n.storm_alerts]=$reached
	# from the storm's commit to the last commit of its alerts, as the
	# server recorded them (the metric is polled only every 50 ms)
	tcommit=$(q bench_d -c "SELECT (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1e6)::bigint
		FROM market_snapshot WHERE symbol = ('$storm_syms'::text[])[1]")
	tdone=$(q bench_d -c "SELECT (extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) * 1e6)::bigint
		FROM agent_task WHERE created_at >= to_timestamp($tcommit / 1e6)")
	[ -n "$tdone" ] || tdone=$tcommit	# no alert written: a rate of 0
	R[n$n.storm_s]=$(awk -v a="$tcommit" -v b="$tdone" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')
	# the storm's write transactions in commit order: ms after the storm's
	# commit, and agent_task rows (gaps and small batches show here)
	R[n$n.storm_tl]=$(q bench_d -c "SELECT string_agg(format('%s:%s', round(ms, 1), n), ' ' ORDER BY ms)
		FROM (SELECT (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1e6 - $tcommit) / 1e3 AS ms,
			     count(*) AS n
			FROM agent_task WHERE created_at >= to_timestamp($tcommit / 1e6) GROUP BY xmin) x")
	R[n$n.storm_rate]=$(awk -v r="$reached" -v s="${R[n$n.storm_s]}" 'BEGIN { printf "%.0f", (s > 0 ? r / s : 0) }')
	R[n$n.storm_deliv]=$(( $("$py" "$here/e2e.py" metric "$W/m1-storm.prom" leo_deliveries_written_total) - \
		$("$py" "$here/e2e.py" metric "$W/m0-storm.prom" leo_deliveries_written_total) ))
	R[n$n.storm_cpu]=$(awk -v a="$cpu0" -v b="$cpu1" -v h="$clk" 'BEGIN { printf "%.2f", (b - a) / h }')
	R[n$n.storm_bcpu]=$(awk -v a="$bcpu0" -v b="$bcpu1" -v h="$clk" 'BEGIN { printf "%.2f", (b - a) / h }')
	R[n$n.storm_batch]=$("$py" "$here/e2e.py" hist "$W/m0-storm.prom" "$W/m1-storm.prom" leo_batch_rows 1)
	q bench_d -F ' | ' -c "
		SELECT calls, round(total_exec_time::numeric, 0) AS total_ms,
		       round(mean_exec_time::numeric, 2) AS mean_ms, rows,
		       left(regexp_replace(query, '\s+', ' ', 'g'), 70)
		  FROM pg_stat_statements WHERE calls > 0
		   AND dbid = (SELECT oid FROM pg_database WHERE datname = 'bench_d')
		 ORDER BY total_exec_time DESC LIMIT 6" >"$W/pgss-$n.txt"

	log "  storm: $reached alerts in ${R[n$n.storm_s]} s = ${R[n$n.storm_rate]}/s," \
		"${R[n$n.storm_deliv]} deliveries, daemon CPU ${R[n$n.storm_cpu]} s," \
		"its backends' CPU ${R[n$n.storm_bcpu]} s;" \
		"batch rows n/p50/p99: ${R[n$n.storm_batch]}"
	log "  storm transactions (ms after the storm's commit:rows): ${R[n$n.storm_tl]}"
	log "  storm waits of the daemon's backends (type:event samples, 10 ms): ${R[n$n.storm_waits]}"
	cat "$W/pgss-$n.txt" >&2
	R[n$n.rss_hwm]=$(hwm_kb "$dpid")
	R[n$n.rss_end]=$(rss_kb "$dpid")
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	spid=""
	log "N=$n: stopping leo-alertd"
	kill -TERM "$dpid"
	local drc=0
	wait "$dpid" || drc=$?
	[ $drc -eq 0 ] || log "leo-alertd exited with status $drc"
	dpid=""
	# function statistics of the storm: complete once the daemon's backends
	# have exited and reported them
	sleep 1
	q bench_d -F ' | ' -c "SELECT funcname, calls, round(total_time::numeric, 0) AS total_ms,
		       round(self_time::numeric, 0) AS self_ms
		  FROM pg_stat_user_functions ORDER BY total_time DESC LIMIT 8" >"$W/funcs-$n.txt"
	cp "$W/samples.txt" "$W/samples-$n.txt"

	# the writer's statement, explained (rolled back)
	for b in 20 500; do
		"$here/explain_writer.sh" bench_d $b >"$W/explain-$n-$b.txt" 2>&1 || true
		log "  writer statement, $b firings: $(grep -E 'Execution Time|Planning Time' "$W/explain-$n-$b.txt" | tr -s ' ' | tr '\n' ' ')"
	done

	# peer 1: the trigger
	q bench_p1 -f "$here/peer_trigger.sql" >/dev/null
	for k in 1 50; do
		local a0 a1
		a0=$(q bench_p1 -c "SELECT count(*) FROM agent_task")
		res=$(gen_ticks bench_p1 $k 2)
		a1=$(q bench_p1 -c "SELECT count(*) FROM agent_task")
		R[n$n.p1.$k]=$(kv "$res" ticks_per_s)
		R[n$n.p1.$k.alerts]=$((a1 - a0))
		log "  peer 1 K=$k C=2: $res; $((a1 - a0)) alerts"
	done
	local a0 a1 ms
	a0=$(q bench_p1 -c "SELECT count(*) FROM agent_task")
	ms=$(psql -X -q -d bench_p1 -c '\timing on' -c "$stm" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	a1=$(q bench_p1 -c "SELECT count(*) FROM agent_task")
	R[n$n.p1.storm_alerts]=$((a1 - a0))
	R[n$n.p1.storm_s]=$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')
	R[n$n.p1.storm_rate]=$(awk -v r="$((a1 - a0))" -v m="$ms" 'BEGIN { printf "%.0f", (m > 0 ? r / m * 1000 : 0) }')
	log "  peer 1 storm: $((a1 - a0)) alerts in $ms ms"

	# peer 2: polling every 100 ms while 1,000 ticks/s flow
	q bench_p2 -f "$here/peer_poll.sql" >/dev/null
	gen_ticks bench_p2 1 8 --rate 1000 >"$W/p2-feed.txt" &
	local gpid=$!
	rm -f "$W"/poll.*
	pgbench -n -f "$here/poll_once.sql" -R 10 -T "$secs" -c 1 \
		--log --log-prefix="$W/poll" bench_p2 >"$W/pgbench-$n.txt" 2>&1
	wait $gpid
	R[n$n.p2]=$(cat "$W"/poll.* | awk '{ print $3 }' | sort -n | awk '
		{ v[NR] = $1; s += $1 }
		END { printf "%d %.2f %.2f %.2f %.2f", NR, v[int(NR * 0.5) + 1] / 1000,
			v[int(NR * 0.99) + 1] / 1000, v[NR] / 1000, s / NR / 1000 }')
	R[n$n.p2.alerts]=$(q bench_p2 -c "SELECT count(*) FROM agent_task")
	q bench_p2 -c "$stm" >/dev/null
	a0=$(q bench_p2 -c "SELECT count(*) FROM agent_task")
	ms=$(psql -X -q -d bench_p2 -c '\timing on' -f "$here/poll_once.sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	a1=$(q bench_p2 -c "SELECT count(*) FROM agent_task")
	R[n$n.p2.storm_alerts]=$((a1 - a0))
	R[n$n.p2.storm_s]=$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')
	log "  peer 2 polls n/p50/p99/max/mean ms: ${R[n$n.p2]}; storm poll $((a1 - a0)) alerts in $ms ms"

	report_n "$n"
}

report_n() {
	local n=$1 p=n$1 r c50 fixed row s50
	c50=${R[$p.ceil.50.2]}
	fixed=${R[$p.fixed.res]}
	row=${R[$p.row.res]}
	s50=${R[$p.s50.res]}
	{
		echo "#### N = $(fmt "$n") requested, $(fmt "${R[$p.rules]}") ACTIVE rules (incl. 1,000 probe rules), loaded in ${R[$p.load]} s"
		echo
		echo "| measurement | figure | ratio |"
		echo "| --- | ---: | --- |"
		for k in 1 50; do
			for c in 1 2 4; do
				echo "| ceiling: UPDATE, no trigger, $k sym/stmt, $c client(s) | $(fmt "${R[$p.ceil.$k.$c]}") ticks/s | |"
			done
		done
		echo "| ceiling: unnest() batches of 500, 1 connection | $(fmt "${R[$p.unnest]}") alerts/s | |"
		for k in 1 50; do
			echo "| schema triggers, daemon stopped, $k sym/stmt, 2 clients | $(fmt "${R[$p.stop.$k]}") ticks/s | $(pct "${R[$p.stop.$k]}" "${R[$p.ceil.$k.2]}") of ceiling |"
		done
		for f in row s50; do
			r=${R[$p.$f.res]}
			local k=1 caught qw qr pu
			[ $f = s50 ] && k=50
			local bad
			read -r caught qw qr pu bad <<<"${R[$p.$f.caught]}"
			echo "| leo-alertd running, $k sym/stmt, 2 clients | $(fmt "$(kv "$r" ticks_per_s)") ticks/s offered; daemon caught up ${caught} s after start of a $(kv "$r" seconds) s feed; max queue worker $qw, writer $qr, pg queue $pu (wrapped gauge in $bad samples) | $(pct "$(kv "$r" ticks_per_s)" "${R[$p.stop.$k]}") of daemon stopped, $(pct "$(kv "$r" ticks_per_s)" "${R[$p.ceil.$k.2]}") of ceiling |"
		done
		echo "| peer 1 (trigger), 1 sym/stmt, 2 clients | $(fmt "${R[$p.p1.1]}") ticks/s (${R[$p.p1.1.alerts]} alerts) | leo-alertd $(ratio "$(kv "$row" ticks_per_s)" "${R[$p.p1.1]}") |"
		echo "| peer 1 (trigger), 50 sym/stmt, 2 clients | $(fmt "${R[$p.p1.50]}") ticks/s (${R[$p.p1.50.alerts]} alerts) | leo-alertd $(ratio "$(kv "$s50" ticks_per_s)" "${R[$p.p1.50]}") |"
		local pn pp50 pp99 pmax pmean
		read -r pn pp50 pp99 pmax pmean <<<"${R[$p.p2]}"
		echo "| peer 2 (poll every 100 ms, 1,000 ticks/s flowing) | $pn polls: p50 $pp50 ms, p99 $pp99 ms, max $pmax ms, mean $pmean ms per poll | |"
		for f in fixed fixed50 row s50; do
			local ln lp50 lp99 lmax hn hp50 hp99 what
			read -r ln lp50 lp99 lmax <<<"${R[$p.$f.lat]}"
			read -r hn hp50 hp99 <<<"${R[$p.$f.hist]}"
			case $f in
			fixed) what="1,000 ticks/s offered (1 sym/stmt, 8 paced clients; achieved $(fmt "$(kv "${R[$p.fixed.res]}" ticks_per_s)"))" ;;
			fixed50) what="1,000 ticks/s offered (50 sym/stmt, 20 stmt/s, 1 client; achieved $(fmt "$(kv "${R[$p.fixed50.res]}" ticks_per_s)"))" ;;
			row) what="per-row feed at full speed" ;;
			s50) what="50-symbol feed at full speed" ;;
			esac
			echo "| latency, $what: tick commit -> leo_delivery received | $ln alerts: p50 $lp50 ms, p99 $lp99 ms, max $lmax ms (daemon histogram receive -> commit: p50 $hp50, p99 $hp99 ms; stages p50/p99 ms: ${R[$p.$f.stages]}) | p50 $(ratio "$pp50" "$lp50") below a poll's p50 time |"
		done
		echo "| per-tick CPU of leo-alertd (utime+stime / ticks; net of the idle ${R[$p.idle]} CPU-s/s) | fixed-row ${R[$p.fixed.cpu_us]} (net ${R[$p.fixed.cpu_net]}) us, fixed-50 ${R[$p.fixed50.cpu_us]} (net ${R[$p.fixed50.cpu_net]}) us, per-row ${R[$p.row.cpu_us]} (net ${R[$p.row.cpu_net]}) us, 50-symbol ${R[$p.s50.cpu_us]} (net ${R[$p.s50.cpu_net]}) us | |"
		for f in fixed fixed50 row s50; do
			echo "| server wait events during feed $f (backend:type:event samples, 100 ms) | ${R[$p.$f.waits]} | |"
		done
		echo "| storm (${R[$p.storm_syms]} symbols to p0 x 1.021): leo-alertd | ${R[$p.storm_alerts]} of ${R[$p.expect]} alerts (${R[$p.storm_deliv]} deliveries) in ${R[$p.storm_s]} s = $(fmt "${R[$p.storm_rate]}") alerts/s; daemon CPU ${R[$p.storm_cpu]} s, its backends' ${R[$p.storm_bcpu]} s (while the storm is awaited; 10 ms ticks); batch rows n/p50/p99 ${R[$p.storm_batch]}; transactions (ms after the storm's commit:rows) ${R[$p.storm_tl]}; its backends' waits (type:event samples, 10 ms) ${R[$p.storm_waits]} | $(pct "${R[$p.storm_rate]}" "${R[$p.unnest]}") of unnest ceiling |"
		echo "| storm: peer 1 (the UPDATE statement) | ${R[$p.p1.storm_alerts]} alerts in ${R[$p.p1.storm_s]} s = $(fmt "${R[$p.p1.storm_rate]}") alerts/s | leo-alertd $(ratio "${R[$p.storm_rate]}" "${R[$p.p1.storm_rate]}") |"
		echo "| storm: peer 2 (one poll) | ${R[$p.p2.storm_alerts]} alerts in ${R[$p.p2.storm_s]} s | |"
		echo "| leo-alertd start-up to /readyz 200 | ${R[$p.ready]} s | |"
		echo "| load average (1 min) during the daemon feeds | fixed ${R[$p.fixed.load]}, fixed-50 ${R[$p.fixed50.load]}, per-row ${R[$p.row.load]}, 50-symbol ${R[$p.s50.load]} (2 CPUs) | |"
		echo "| leo-alertd RSS | $(( R[$p.rss_ready] / 1024 )) MB ready, $(( R[$p.rss_end] / 1024 )) MB at end, peak $(( R[$p.rss_hwm] / 1024 )) MB | |"
		echo
		echo "pg_stat_statements during the storm (calls | total ms | mean ms | rows | query):"
		echo
		echo '```'
		cat "$W/pgss-$n.txt"
		echo '```'
		echo
		for b in 20 500; do
			echo "EXPLAIN ANALYZE of the writer's statement, $b firings of one tenant (rolled back; nodes and triggers):"
			echo
			echo '```'
			grep -E 'Update on|Insert on|Scan on alert_rules|Index Scan|Bitmap Index|Hash Join|Nested Loop|Trigger|Time:' "$W/explain-$n-$b.txt" | head -24
			echo '```'
			echo
		done
		for f in s50 storm; do
			[ -s "$W/perf-$f-$n.txt" ] || continue
			echo "perf record -e cpu-clock, $f ($( [ $f = s50 ] && echo 'leo-alertd during the 50-symbol feed' || echo "leo-alertd and its PostgreSQL backends during the storm")); self time by comm, object, symbol:"
			echo
			echo '```'
			cat "$W/perf-$f-$n.txt"
			echo '```'
			echo
		done
		echo "PL/pgSQL functions during the storm (name | calls | total ms | self ms):"
		echo
		echo '```'
		cat "$W/funcs-$n.txt"
		echo '```'
		echo
	} >>"$report"
}

for n in $rules; do
	run_n "$n"
done
cat "$report"
[ -n "$out" ] && cat "$report" >>"$out"
exit 0
