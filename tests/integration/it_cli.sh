#!/usr/bin/env bash
# Command line: usage errors exit 64; --check-config exits 0 on a good file
# and 78 with FILE:LINE: KEY: reason on broken ones; --version and --help.
set -euo pipefail
: "${LEO_BIN:?LEO_BIN must name the leo-alertd binary}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/leo-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() {	# expect STATUS PATTERN ARGS...: run, check status and output
	local want=$1 pat=$2 rc=0
	shift 2
	"$LEO_BIN" "$@" >"$tmp/out" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$tmp/out"; fail "leo-alertd $*: status $rc, expected $want"; }
	grep -qE -- "$pat" "$tmp/out" || { cat "$tmp/out"; fail "leo-alertd $*: no '$pat' in output"; }
	echo "ok: leo-alertd $* -> $rc"
}

expect 64 'usage:' --bogus
expect 64 'usage:' extra-argument
expect 64 'unknown level' --log-level loud
expect 64 'usage:' --config
expect 0 '^leo-alertd [0-9]' --version
expect 0 'usage:' --help

printf 'database:\n  conninfo: "dbname=x"\nlog:\n  level: info\n' >"$tmp/good.yaml"
expect 0 'ok' --config "$tmp/good.yaml" --check-config

printf 'database:\n  conninfo: "dbname=x"\n  pool_sise: 4\n' >"$tmp/unknown.yaml"
expect 78 "unknown.yaml:3: .*pool_sise" --config "$tmp/unknown.yaml" --check-config

printf 'engine:\n  worker_threads: 0\nlog:\n  level: loud\n' >"$tmp/bounds.yaml"
expect 78 "bounds.yaml:2: .*worker_threads" --config "$tmp/bounds.yaml" --check-config
grep -qE "bounds.yaml:4: .*level" "$tmp/out" || fail "second problem not reported"
echo "ok: every problem reported"

printf 'database:\n  conninfo: [unclosed\n' >"$tmp/syntax.yaml"
expect 78 "syntax.yaml:[0-9]+:" --config "$tmp/syntax.yaml" --check-config

expect 78 "missing.yaml" --config "$tmp/missing.yaml" --check-config
# the daemon itself refuses a broken file the same way
expect 78 "unknown.yaml:3:" --config "$tmp/unknown.yaml"

# an unreadable password file stops the start-up as a config error
printf 'database:\n  conninfo: "dbname=x"\n  password_file: "%s/none"\nstats:\n  listen: ""\n' "$tmp" >"$tmp/pw.yaml"
expect 78 "password_file .*/none: cannot open" --config "$tmp/pw.yaml"

# the stats port is taken: the service is unavailable (69)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$tmp/port" &
holder=$!
trap 'kill $holder 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
busy=$(cat "$tmp/port")
printf 'database:\n  conninfo: "dbname=x"\nstats:\n  listen: "127.0.0.1:%s"\n' "$busy" >"$tmp/busy.yaml"
expect 69 "cannot listen on 127.0.0.1:$busy" --config "$tmp/busy.yaml"
