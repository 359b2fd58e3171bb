#!/usr/bin/env bash
# Load and soak test of leo-alertd.  See BENCHMARKS.md, "Soak (bench/soak)".
#
#   bench/soak/run.sh [--minutes M] [--rules N] [--rate TICKS_PER_S] [--kills K] [--keep]
#
#   --minutes M   length of the feed (default 10)
#   --rules N     rules kept ACTIVE, about (default 3000)
#   --rate R      price changes per second between checkpoints, an integer
#                 (default 100)
#   --kills K     kill -9 the daemon K times (at every third checkpoint),
#                 change prices while it is down, start it again (default 0)
#   --keep        leave the work directory (record, logs, samples) behind
#
# Builds leo-alertd (RelWithDebInfo, build-soak/), starts a throwaway
# PostgreSQL (scripts/pgtmp.sh) with the schema, and runs soak.py's driver:
# real Dow Jones 30 closes replayed as price changes, rules inserted,
# changed and deleted, consents flipped, PostgreSQL restarted half-way.
# The daemon's RSS is sampled every 2 s.  Then soak.py checks delivery_log
# and agent_task against its own model of the SPEC, the RSS and the log,
# and this script exits non-zero when any check fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib.sh"

cmdline="bench/soak/run.sh $*"
minutes=10
rules=3000
rate=100
kills=0
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=$2; shift 2 ;;
	--rules) rules=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--kills) kills=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \?//'; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 64 ;;
	esac
done
for v in "$minutes" "$rules" "$rate"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --minutes, --rules, --rate take positive integers" >&2; exit 64; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/leo-soak.XXXXXX")
chmod 755 "$W"
build=$top/build-soak
py=/usr/bin/python3
[ -x "$py" ] || py=python3
dpid=""
drpid=""
spid=""

cleanup() {
	local rc=$?
	for p in "$drpid" "$spid"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	[ -n "$dpid" ] && kill -KILL "$dpid" 2>/dev/null || true
	[ -f "$W/daemon.pid" ] && kill -KILL "$(cat "$W/daemon.pid")" 2>/dev/null || true
	"$top/scripts/pgtmp.sh" stop "$W/pg" || true
	if [ $keep -eq 0 ]; then
		rm -rf "$W"
	else
		echo "kept $W" >&2
	fi
	exit $rc
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)] $*" >&2; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }

log "building into $build"
leo_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null

eval "$("$top/scripts/pgtmp.sh" start "$W/pg")"
export PGHOST PGPORT PGUSER
pgver=$(q postgres -c "SHOW server_version")
q postgres -c "CREATE ROLE leo_daemon LOGIN" -c "CREATE DATABASE soak" >/dev/null
"$top/scripts/schema-apply.sh" soak
q postgres -c "GRANT leo_alertd TO leo_daemon" >/dev/null

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# resync_interval_s: a resync folds notifications it has not read yet into
# one change (src/alertd/listen.c), which the record cannot predict; the reconnect
# after the restart exercises the same load path.  The flood guard is
# raised so that it never pauses a rule: a rule fires at most once per
# change of its symbol, rate / 30 per second, so twice that over the
# window is out of reach.  Not higher: the daemon allocates a rule's flood
# ring (8 bytes x flood_max_fires, at most 65535) whole at its first firing.
flood=$(( (rate * 180 * 2 + 29) / 30 ))
# engine.queue_capacity: the worker and writer rings (about 400 and 480
# bytes a slot) are allocated whole and their pages touched the first time
# the ring goes round; at the default 65536 slots that alone adds RSS for
# the first 65536 messages of each ring (bounded, about 180 MB in all, but
# longer than the soak).  1024 slots go round within seconds, so a growth
# after warm-up is a real one.
cat >"$W/leo.yaml" <<YAML
database:
  conninfo: "dbname=soak user=leo_daemon"
  pool_size: 4
engine:
  worker_threads: 2
  queue_capacity: 1024
  resync_interval_s: 3600
  flood_max_fires: $flood
  flood_window_seconds: 180
stats:
  listen: "127.0.0.1:$port"
log:
  level: info
YAML

log "driver: setting up $rules rules"
"$py" "$here/soak.py" drive --db soak --port "$port" --pgdir "$W/pg" \
	--record "$W/record.jsonl" --ready "$W/setup.done" \
	--minutes "$minutes" --rules "$rules" --rate "$rate" --kills "$kills" \
	--pidfile "$W/daemon.pid" --daemon "$build/leo-alertd" --config "$W/leo.yaml" \
	--daemon-log "$W/daemon.log" &
drpid=$!
while [ ! -f "$W/setup.done" ]; do
	kill -0 "$drpid" 2>/dev/null || { wait "$drpid"; exit 1; }
	sleep 0.2
done

log "starting leo-alertd"
"$build/leo-alertd" --config "$W/leo.yaml" >"$W/daemon.log" 2>&1 &
dpid=$!
echo "$dpid" >"$W/daemon.pid"	# the driver's kill -9 starts the next one and writes its pid
t0=$(date +%s.%N)
(
	while p=$(cat "$W/daemon.pid") && kill -0 "$p" 2>/dev/null; do
		awk -v t0="$t0" -v now="$(date +%s.%N)" \
			'/^VmRSS:/ { printf "%.1f %d\n", now - t0, $2 }' "/proc/$p/status" 2>/dev/null || true
		sleep 2
	done
) >"$W/rss.txt" &
spid=$!

load0=$(cut -d' ' -f1-3 /proc/loadavg)
drc=0
wait "$drpid" || drc=$?
drpid=""
load1=$(cut -d' ' -f1-3 /proc/loadavg)
[ $drc -eq 0 ] || { log "driver failed ($drc)"; tail -n 20 "$W/daemon.log" >&2; exit 1; }
curl -sf "http://127.0.0.1:$port/metrics" >"$W/metrics.txt"
kill "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
spid=""

log "stopping leo-alertd"
rc=0
if [ "$(cat "$W/daemon.pid")" = "$dpid" ]; then
	kill -TERM "$dpid"
	wait "$dpid" || rc=$?
else
	# started by the driver after a kill -9: not our child, its status unseen
	wait "$dpid" 2>/dev/null || true
	p=$(cat "$W/daemon.pid")
	kill -TERM "$p"
	while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
fi
dpid=""
rm -f "$W/daemon.pid"
[ $rc -eq 0 ] || log "leo-alertd exited with status $rc after SIGTERM"

echo "== soak: $cmdline"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); leo-alertd $(git -C "$top" rev-parse --short HEAD) RelWithDebInfo; PostgreSQL $pgver"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"\
	"$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; load average at start $load0, at end $load1"
echo "driver: $(cat "$W/record.jsonl.stats")"
crc=0
"$py" "$here/soak.py" check --db soak --record "$W/record.jsonl" --rss "$W/rss.txt" \
	--log "$W/daemon.log" --metrics "$W/metrics.txt" --minutes "$minutes" || crc=$?
[ $rc -eq 0 ] || { echo "FAIL: leo-alertd exit status $rc after SIGTERM"; crc=1; }
exit $crc
