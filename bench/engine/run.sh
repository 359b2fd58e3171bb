#!/usr/bin/env bash
# Rule engine benchmark (see BENCHMARKS.md, "Rule engine (bench/engine)").
#
# Builds bench_rules with -O2 (RelWithDebInfo) in build-bench/ and runs it
# on the real closes in data/: 1,000,000 rules over 10,000 symbols,
# 2,000,000 price changes, in two workloads: "quiet" (thresholds 12..40%
# from the price: well under 1% of the rules fire) and "busy" (2..30%).
# Extra arguments go to bench_rules (e.g. -r 100000 for a quick run).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$leo_top"

dir=${LEO_BENCH_BUILD:-build-bench}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEO_WERROR=ON >/dev/null
cmake --build "$dir" --target bench_rules -j 2 >/dev/null
bin=$dir/bench/engine/bench_rules
csv=data/strucchange_SP2001_daily.csv

echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== quiet: $bin -c $csv -d 12 -D 40 $*"
"$bin" -c "$csv" -d 12 -D 40 "$@"
echo "== busy: $bin -c $csv -d 2 -D 30 $*"
"$bin" -c "$csv" -d 2 -D 30 "$@"
