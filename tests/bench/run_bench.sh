#!/bin/sh
# Run the NF benchmark (built by `make bench`): NAT, firewall and load balancer, one driver,
# one Markdown section per NF. Missed targets are reported in the tables, not fatal: the exit
# status is non-zero only when the benchmark itself fails or crashes. Extra arguments go to
# bench-nf (e.g. --nf firewall,lb, --unix, --tcp for the NAT, --reps N).
BUILD=${BUILD:-build}
RB=$(command -v redis-benchmark || true)
if [ -z "$RB" ]; then
	echo "run_bench.sh: redis-benchmark not found: its comparison lines are skipped" >&2
fi
"$BUILD/bench-nf" --redis-benchmark "$RB" "$@"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "run_bench.sh: bench-nf failed (exit status $rc)" >&2
fi
exit "$rc"
