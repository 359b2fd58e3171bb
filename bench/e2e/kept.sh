# Helpers of the scripts that work on a server run.sh left behind (--keep):
# controls.sh, cpu_split.sh, ab_ingest.sh.  Sourced; the caller sets `here`
# (this directory) and `tmp` (its scratch directory) and removes `tmp`.
#
#   kept_db N            bench_ctl afresh from bench_schema, with N rules
#   kept_yaml POOL       a daemon config for bench_ctl in $tmp/leo.yaml;
#                        sets `port` (its stats port)
#   kept_start BIN       start BIN with it (stderr to $tmp/daemon.log) and
#                        wait for /readyz; sets `dpid`
#   kept_stop            SIGTERM the daemon and reap it

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }

kept_db() {
	q postgres -c "DROP DATABASE IF EXISTS bench_ctl" \
		-c "CREATE DATABASE bench_ctl TEMPLATE bench_schema" >/dev/null
	q bench_ctl -v nrules="$1" -f "$here/load.sql" >/dev/null
}

kept_yaml() {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$tmp/leo.yaml" <<YAML
database:
  conninfo: "dbname=bench_ctl user=leo_daemon"
  pool_size: $1
engine:
  worker_threads: 2
  flood_max_fires: 1000000
stats:
  listen: "127.0.0.1:$port"
log:
  level: warn
YAML
}

dpid=""
kept_start() {
	"$1" --config "$tmp/leo.yaml" 2>>"$tmp/daemon.log" &
	dpid=$!
	for _ in $(seq 1 3000); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
		sleep 0.02
	done
	echo "$1 did not become ready" >&2
	return 1
}

kept_stop() {
	kill -TERM "$dpid"
	wait "$dpid" || true
	dpid=""
}
