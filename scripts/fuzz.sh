#!/usr/bin/env bash
# Fuzz one target with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   scripts/fuzz.sh TARGET SECONDS [LIBFUZZER OPTIONS...]
#
# TARGET is one of tests/fuzz/fuzz_TARGET.c (cond, market, control, cfg,
# httpd, tmpl, receipt, embed).  Builds with clang in build-fuzz/ (LEO_FUZZ=ON: the core carries
# coverage instrumentation, the targets link libFuzzer), then runs one job
# for SECONDS.  New inputs go to build-fuzz/corpus/TARGET (seeded from
# tests/data/fuzz/TARGET, which is never written to); crashes to
# build-fuzz/artifacts/TARGET/.  Copy a crashing input into
# tests/data/fuzz/TARGET/ once fixed: ctest replays that directory.
# Needs Debian's clang and libclang-rt-dev (not in the test package list:
# the ordinary build replays the corpora with gcc).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$leo_top"

target=${1:?usage: fuzz.sh TARGET SECONDS [LIBFUZZER OPTIONS...]}
seconds=${2:?usage: fuzz.sh TARGET SECONDS [LIBFUZZER OPTIONS...]}
shift 2
[ -f "tests/fuzz/fuzz_$target.c" ] || { echo "no target tests/fuzz/fuzz_$target.c" >&2; exit 64; }

cc=${CC:-}
if [ -z "$cc" ]; then
	for c in clang clang-16 clang-15 clang-14; do
		command -v "$c" >/dev/null && { cc=$c; break; }
	done
fi
[ -n "$cc" ] || { echo "clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

dir=build-fuzz
cmake -S . -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DLEO_FUZZ=ON -DLEO_SANITIZE=address,undefined \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$dir" -j 2 --target "fuzz_$target"

mkdir -p "$dir/corpus/$target" "$dir/artifacts/$target"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=30 \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$dir/artifacts/$target/" "$@" \
	"$dir/corpus/$target" "tests/data/fuzz/$target"
