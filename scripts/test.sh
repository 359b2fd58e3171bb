#!/usr/bin/env bash
# Run every test of leo-alertd, on every PostgreSQL release it supports.
#
# Installs the Debian packages it needs (as root) and the PostgreSQL servers
# (scripts/lib.sh: Debian 12's 15, and the newest release through
# scripts/pg-install.sh, cached between runs), builds with -Werror three
# times (plain; AddressSanitizer + UndefinedBehaviorSanitizer;
# ThreadSanitizer), and then, for each server version, starts a throwaway
# cluster on a unix socket in a temporary directory, runs the tests and
# stops it.  On 15 the tests that start threads (label "threads") run in the
# ThreadSanitizer build, then every test in the other two; on 18 every test
# runs in the plain build (the sanitizers test our code, which the server
# version does not change).  It ends with each run's ctest summary, the
# failed ones last, so the last thing it prints is a ctest summary; it exits
# non-zero when any test failed on any version.
#
#   scripts/test.sh                          15 and 18
#   LEO_PG_VERSIONS=15 scripts/test.sh       a subset, for a quicker run
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$leo_top"

versions=${LEO_PG_VERSIONS:-$leo_pg_versions}
leo_install_packages build test
declare -A bindir
for v in $versions; do
	bindir[$v]=$(leo_pg_bindir "$v")
done
sanitize=no
for v in $versions; do
	if [ "$v" = 15 ]; then sanitize=yes; fi
done

echo "== build (plain)"
leo_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ $sanitize = yes ]; then
	echo "== build (address,undefined)"
	leo_build build-asan -DCMAKE_BUILD_TYPE=Debug -DLEO_SANITIZE=address,undefined
	echo "== build (thread)"
	leo_build build-tsan -DCMAKE_BUILD_TYPE=Debug -DLEO_SANITIZE=thread
fi

work=$(mktemp -d /tmp/leo-test.XXXXXX)
[ "$(id -u)" -eq 0 ] && chmod 755 "$work"	# the servers run as postgres
cleanup() {
	local v
	for v in $versions; do
		LEO_PG_BINDIR=${bindir[$v]} "$leo_top/scripts/pgtmp.sh" stop "$work/pg$v" || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM	# so that cleanup runs on ^C too

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
runs=() failed=()

# run VERSION NAME BUILD [CTEST ARGS...]: ctest in BUILD on the running
# server, its output kept for the summary.
run() {
	local v=$1 name=$2 dir=$3
	shift 3
	echo "== ctest (PostgreSQL $v, $name)"
	runs+=("$v $name")
	ctest --test-dir "$dir" --output-on-failure -j 2 "$@" 2>&1 | tee "$work/$v-$name.log" ||
		failed+=("$v $name")
}

for v in $versions; do
	# exported: it_pg_restart and it_queue_full run scripts/pgtmp.sh too
	export LEO_PG_BINDIR=${bindir[$v]}
	eval "$("$leo_top/scripts/pgtmp.sh" start "$work/pg$v")"
	export PGHOST PGPORT PGUSER LEO_PGDIR
	echo "== PostgreSQL $v: $(psql -X -At -d postgres -c 'SELECT version()')"
	if [ "$v" = 15 ]; then
		run "$v" thread build-tsan -L threads
		run "$v" address,undefined build-asan
	fi
	run "$v" plain build
	"$leo_top/scripts/pgtmp.sh" stop "$work/pg$v"
done

# summary LOG: ctest's closing lines, without the time per label
summary() {
	awk '/tests passed, .* tests failed out of/ { on = 1 }
		on && /^Label Time Summary:/ { skip = 1 }
		skip && /^$/ { skip = 0; next }
		on && !skip' "$1"
}
is_failed() {
	local f
	for f in "${failed[@]}"; do
		[ "$f" = "$1" ] && return 0
	done
	return 1
}
show() {
	echo "-- PostgreSQL ${1% *}, ${1#* } build"
	summary "$work/${1% *}-${1#* }.log"
}
echo
echo "== summary"
for r in "${runs[@]}"; do
	if ! is_failed "$r"; then show "$r"; fi
done
for r in "${runs[@]}"; do
	if is_failed "$r"; then show "$r"; fi
done
[ ${#failed[@]} -eq 0 ]
