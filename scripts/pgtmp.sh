#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a unix socket in DIR; never touches a
# system cluster.  As root the server runs as the postgres OS user (initdb
# refuses root).  The server is PostgreSQL 15 from Debian, or the one whose
# bin directory LEO_PG_BINDIR names (scripts/test.sh sets and exports it for
# each version it tests, so the tests that restart the server get the same).
#
#   scripts/pgtmp.sh start DIR    initdb if needed, start, print env to source
#   scripts/pgtmp.sh stop DIR     stop (fast); quiet when it is not running
#   scripts/pgtmp.sh restart DIR  stop and start again, same data
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cmd=${1:?usage: pgtmp.sh start|stop|restart DIR}
dir=${2:?usage: pgtmp.sh start|stop|restart DIR}
bindir=${LEO_PG_BINDIR:-$(leo_pg_bindir)}

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start() {
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust \
			--no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k $dir -c max_connections=200 -c fsync=off -c full_page_writes=off" \
		start >/dev/null || { tail -n 30 "$dir/server.log" >&2; exit 1; }
	echo "export PGHOST=$dir PGPORT=5432 PGUSER=postgres LEO_PGDIR=$dir"
}

stop() {
	[ -f "$dir/data/postmaster.pid" ] || return 0
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

case $cmd in
start) start ;;
stop) stop ;;
restart) stop; start ;;
*) echo "usage: pgtmp.sh start|stop|restart DIR" >&2; exit 64 ;;
esac
