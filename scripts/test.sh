#!/usr/bin/env bash
# Run every test of leo-alertd.
#
# Installs the Debian packages it needs (as root), builds with -Werror three
# times (plain; AddressSanitizer + UndefinedBehaviorSanitizer;
# ThreadSanitizer), starts a throwaway PostgreSQL on a unix socket in a
# temporary directory, runs the tests that start threads (label "threads")
# in the ThreadSanitizer build, then every test in the other two, and stops
# the server whatever happens.  The last thing it prints is the plain
# build's ctest summary; it exits non-zero when any test failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$leo_top"

leo_install_packages build test

echo "== build (plain)"
leo_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build (address,undefined)"
leo_build build-asan -DCMAKE_BUILD_TYPE=Debug -DLEO_SANITIZE=address,undefined
echo "== build (thread)"
leo_build build-tsan -DCMAKE_BUILD_TYPE=Debug -DLEO_SANITIZE=thread

pgdir=$(mktemp -d /tmp/leo-test-pg.XXXXXX)
cleanup() {
	"$leo_top/scripts/pgtmp.sh" stop "$pgdir" || true
	rm -rf "$pgdir"
}
trap cleanup EXIT
eval "$("$leo_top/scripts/pgtmp.sh" start "$pgdir")"
export PGHOST PGPORT PGUSER LEO_PGDIR

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
rc=0
echo "== ctest (thread: tests that start threads)"
ctest --test-dir build-tsan --output-on-failure -j 2 -L threads || rc=1
echo "== ctest (address,undefined)"
ctest --test-dir build-asan --output-on-failure -j 2 || rc=1
echo "== ctest (plain)"
ctest --test-dir build --output-on-failure -j 2 || rc=1
exit $rc
