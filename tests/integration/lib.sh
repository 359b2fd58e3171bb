# Sourced by every integration test: a fresh database, the real leo-alertd
# binary started and stopped as a process, and polling functions.
#
# Environment (ctest sets it): LEO_BIN the daemon binary; PGHOST, PGPORT,
# PGUSER for the throwaway cluster (scripts/test.sh exports them).
# Each test runs in its own database, named after the script, and its own
# temporary directory; the daemon connects as the leo_daemon role.
set -euo pipefail

it_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
it_name=$(basename "$0" .sh)
it_db=$it_name
it_tmp=$(mktemp -d "${TMPDIR:-/tmp}/leo-$it_name.XXXXXX")
: "${LEO_BIN:?LEO_BIN must name the leo-alertd binary}"
declare -A it_pids=()
it_port=0
it_hold_pid=""

it_cleanup() {
	local rc=$? n
	[ -z "$it_hold_pid" ] || kill "$it_hold_pid" 2>/dev/null || true
	for n in "${!it_pids[@]}"; do
		kill -KILL "${it_pids[$n]}" 2>/dev/null || true
		wait "${it_pids[$n]}" 2>/dev/null || true
	done
	if [ $rc -ne 0 ]; then
		for n in "$it_tmp"/daemon-*.log; do
			[ -f "$n" ] || continue
			echo "---- $(basename "$n") (last 40 lines)"
			tail -n 40 "$n"
		done
	fi
	rm -rf "$it_tmp"
	exit $rc
}
trap it_cleanup EXIT

it_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

it_ok() {
	echo "ok: $*"
}

# it_sql [psql args...]: run SQL as the superuser on the test database.
it_sql() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$it_db" "$@"
}

# it_eq ACTUAL EXPECTED WHAT
it_eq() {
	[ "$1" = "$2" ] || it_fail "$3: got '$1', expected '$2'"
	it_ok "$3 = $2"
}

it_newdb() {
	"$it_top/tests/newdb.sh" "$it_db" >/dev/null
}

# it_config [stats]: write $it_tmp/leo.yaml; with "stats", serve HTTP on a
# free port ($it_port).  Extra YAML can follow on stdin... see it_config_extra.
it_config() {
	local stats='""'
	if [ "${1:-}" = stats ]; then
		it_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		stats="\"127.0.0.1:$it_port\""
	fi
	cat >"$it_tmp/leo.yaml" <<YAML
database:
  conninfo: "dbname=$it_db user=leo_daemon"
  pool_size: 2
engine:
  worker_threads: 2
  resync_interval_s: ${IT_RESYNC:-60}
  flood_max_fires: ${IT_FLOOD_MAX:-15}
  flood_window_seconds: 180
writer:
  batch_max_rows: 500
  batch_max_delay_ms: 0
stats:
  listen: $stats
log:
  level: ${IT_LOG_LEVEL:-info}
YAML
}

# it_start [NAME]: start a daemon and wait until it has loaded its rules.
it_start() {
	local n=${1:-d} log
	log=$it_tmp/daemon-$n.log
	"$LEO_BIN" --config "$it_tmp/leo.yaml" >>"$log" 2>&1 &
	it_pids[$n]=$!
	it_wait_log "$n" "ready: rules loaded" 30
}

# it_wait_log NAME PATTERN SECONDS: wait for a line in a daemon's log.
it_wait_log() {
	local n=$1 pat=$2 t=$(( $3 * 10 )) log=$it_tmp/daemon-$1.log
	while [ $t -gt 0 ]; do
		[ -f "$log" ] && [ "$(grep -c -- "$pat" "$log")" -gt "${4:-0}" ] && return 0
		kill -0 "${it_pids[$n]}" 2>/dev/null || it_fail "daemon $n exited while waiting for '$pat'"
		sleep 0.1
		t=$((t - 1))
	done
	it_fail "daemon $n: no '$pat' in its log"
}

# it_stop [NAME] [SIGNAL]: stop a daemon, expect exit status 0 (under ASan
# that also means no leak); after SIGKILL any status.
it_stop() {
	local n=${1:-d} sig=${2:-TERM}
	kill -"$sig" "${it_pids[$n]}"
	it_reap "$n" "$sig"
}

# it_reap NAME [SIGNAL]: wait for a daemon already told to stop.
it_reap() {
	local n=$1 sig=${2:-TERM} rc=0
	wait "${it_pids[$n]}" || rc=$?
	unset "it_pids[$n]"
	[ "$sig" = KILL ] && return 0
	[ $rc -eq 0 ] || it_fail "daemon $n exited with status $rc after SIG$sig"
}

# it_wait SQL [SECONDS]: poll until SQL returns 't'.
it_wait() {
	local sql=$1 t=$(( ${2:-20} * 10 ))
	while [ $t -gt 0 ]; do
		[ "$(it_sql -c "$sql")" = t ] && return 0
		sleep 0.1
		t=$((t - 1))
	done
	it_fail "timed out waiting for: $sql"
}

# it_metric NAME_WITH_LABELS: a value from the daemon's /metrics.
it_metric() {
	python3 - "$it_port" "$1" <<'PY'
import sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
for line in body.splitlines():
    if line.startswith(name + " "):
        v = float(line.split()[-1])
        print(int(v) if v == int(v) else v)
        break
else:
    print("absent")
PY
}

# it_settle [SECONDS]: give the daemon time (default 0.5 s) to take in what
# was just committed, before a step that must come after it.
it_settle() {
	sleep "${1:-0.5}"
}

# Fixtures: tenants, profiles, consents.
it_tenant() {	# it_tenant UUID NAME [STATUS]
	it_sql -c "INSERT INTO tenant (tenant_id, tenant_name, status) VALUES ('$1', '$2', '${3:-active}')"
}
it_profile() {	# it_profile TENANT PROFILE
	it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id) VALUES ('$1', '$2')"
}
it_consent() {	# it_consent TENANT PROFILE CHANNEL STATUS [EXPIRES_SQL]
	it_sql -c "INSERT INTO consent_management (tenant_id, profile_id, channel, status,
		legal_basis, source, revoked_at, expires_at)
		VALUES ('$1', '$2', '$3', '$4', 'consent', 'test',
		CASE WHEN '$4' = 'revoked' THEN now() END, ${5:-NULL})"
}
# it_rule TENANT PROFILE SYMBOL JSON [MODE] [CHANNEL]: prints the rule_id
it_rule() {
	it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic,
		trigger_mode, channel) VALUES ('$1', '$2', '$3', '$4', '${5:-ONCE}', '${6:-email}')
		RETURNING rule_id"
}
it_price() {	# it_price SYMBOL PRICE [CHANGE_PERCENT]
	it_sql -c "INSERT INTO market_snapshot (symbol, price, change_percent)
		VALUES ('$1', $2, ${3:-NULL})
		ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price,
		change_percent = EXCLUDED.change_percent"
}

T1=11111111-1111-4111-8111-111111111111
T2=22222222-2222-4222-8222-222222222222

# it_hold SQL LINE: run SQL in a session of its own that stays open, its
# transaction too, until it_release; return once its output has LINE.
it_hold() {
	mkfifo "$it_tmp/hold"
	psql -X -q -At -d "$it_db" <"$it_tmp/hold" >"$it_tmp/hold.out" 2>&1 &
	it_hold_pid=$!
	exec 9>"$it_tmp/hold"
	echo "$1" >&9
	for _ in $(seq 100); do
		grep -qx -- "$2" "$it_tmp/hold.out" && return 0
		sleep 0.1
	done
	it_fail "the holding session did not get going: $(cat "$it_tmp/hold.out")"
}

# it_release: commit the holding session's transaction and end it.
it_release() {
	echo "COMMIT;" >&9
	exec 9>&-
	wait "$it_hold_pid"
	it_hold_pid=""
	rm -f "$it_tmp/hold"
}

# it_flip N: N statements, each its own transaction, moving every price
# between 19 and 21 (one below 20 to 21, else to 19).
it_flip() {
	local i
	for i in $(seq "$1"); do
		echo "UPDATE market_snapshot SET price = CASE WHEN price < 20 THEN 21 ELSE 19 END;"
	done | it_sql
}

# it_wide_symbols NSYM NRULES: NSYM symbols of 64 characters at 10 (so that
# each statement's notification is ~75 bytes a row) and a REARM
# crosses_above 20 rule of T1's p1 on each of the first NRULES.
it_wide_symbols() {
	it_sql -c "INSERT INTO market_snapshot (symbol, price)
		SELECT 'Q' || lpad(g::text, 3, '0') || repeat('x', 60), 10 FROM generate_series(1, $1) g"
	it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
		SELECT '$T1', 'p1', symbol, '{\"operator\": \"crosses_above\", \"value\": 20}', 'REARM'
		FROM market_snapshot ORDER BY symbol LIMIT $2"
}

# it_behind: a daemon behind its writers.  T1's p1 has 100 REARM rules on
# S (at 10), the queues 16 slots; a session holds every alert_rules row
# locked, so the writers' claims wait, and 400 price changes fill the
# writers' queues, then the workers': the loop stops reading them.
# it_caught_up: the lock let go, every crossing is written exactly once and
# every price change read.
it_behind() {
	it_newdb
	it_tenant "$T1" t1
	it_profile "$T1" p1
	it_consent "$T1" p1 email granted
	it_nrules=100 it_nstmt=400
	it_price S 10
	it_sql -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, trigger_mode)
		SELECT '$T1', 'p1', 'S', jsonb_build_object('operator', 'crosses_above', 'value', round(19.5 + g / 1000.0, 3)),
		'REARM' FROM generate_series(1, $it_nrules) g"
	IT_FLOOD_MAX=100000 it_config stats
	sed -i '/^engine:/a\  queue_capacity: 16' "$it_tmp/leo.yaml"
	it_start

	it_hold "BEGIN; SELECT count(*) FROM (SELECT FROM alert_rules FOR UPDATE) r;" "$it_nrules"
	it_flip "$it_nstmt"
	for _ in $(seq 300); do
		[ "$(it_metric 'leo_queue_depth{queue="worker"}')" -ge 16 ] && break
		sleep 0.1
	done
	it_eq "$(it_sql -c "SELECT $(it_metric 'leo_queue_depth{queue="worker"}') >= 16")" t "the worker queue is full"
	it_eq "$(it_sql -c "SELECT $(it_metric leo_ticks_received_total) < $it_nstmt")" t \
		"the loop stopped reading price changes"
}
it_caught_up() {
	local want=$(( it_nstmt / 2 * it_nrules ))
	it_release
	it_wait "SELECT count(*) = $want FROM delivery_log" 120
	it_settle 1
	it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" "$want" "every crossing delivered once"
	it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" "$want" "one agent_task per crossing"
	it_eq "$(it_metric leo_ticks_received_total)" "$it_nstmt" "every price change received"
}

# it_notify: a systemd notify socket, exported as NOTIFY_SOCKET with
# WATCHDOG_USEC 0.4 s; its receiver (it_pids[notify]) writes each line it
# gets to $it_tmp/notify.txt and ends after the second STOPPING=1 (two
# daemons run in turn) or a minute of silence.
it_notify() {
	local sock=$it_tmp/notify.sock
	python3 - "$sock" "$it_tmp/notify.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
stops = 0
with open(sys.argv[2], "a", buffering=1) as out:
    while stops < 2:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in msg.splitlines():
            print(line, file=out)
        if "STOPPING=1" in msg:
            stops += 1
PY
	it_pids[notify]=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	export NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000
}
