#!/bin/sh
# Run the NF benchmark (built by `make bench`): NAT, firewall and load balancer, one driver,
# one Markdown section per NF; then the failover and scale-out benchmark (real OVS, Redis,
# orchestrator and NAT instances under 200 TCP connections, about 90 s; needs root;
# SNF_BENCH_FAILOVER=0 skips it). Missed targets are reported in the tables, not fatal: the
# exit status is non-zero only when a benchmark itself fails or crashes. Extra arguments go
# to bench-nf (e.g. --nf firewall,lb, --unix, --tcp for the NAT, --reps N).
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
if [ "${SNF_BENCH_FAILOVER:-1}" != 0 ]; then
	out=$(mktemp)
	if SNF_FAILOVER_BENCH=1 "$BUILD/tests/test_orch_failover" --filter 'orch_failover/bench*' \
		--verbose=0 >"$out" 2>&1; then
		sed -n '/^## Failover/,/^| connections broken/p' "$out"
	else
		grep -v '^\[----\] bench' "$out" | tail -n 40
		echo "run_bench.sh: the failover benchmark failed" >&2
		rc=1
	fi
	rm -f "$out"
fi
exit "$rc"
