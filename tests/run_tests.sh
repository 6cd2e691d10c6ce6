#!/bin/sh
# Run every Criterion test binary, then each fuzz target briefly on its seed corpus, and
# print one closing line "N passed, N failed". Exit status is non-zero on any failure.
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# The orchestrator's end-to-end tests (real OVS + orchestrator + NF instances under TCP
# connections: test_orch_failover about a minute, test_orch_outages, test_orch_uplinks) are
# part of it; SNF_TEST_FAILOVER=0 skips them (quick runs).
E2E=" test_orch_failover test_orch_outages test_orch_uplinks "
SKIP=""
[ "${SNF_TEST_FAILOVER:-1}" = 0 ] && SKIP=$E2E
passed=0
failed=0
skipped=0
log=$(mktemp -d)

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	case "$SKIP" in *" $name "*)
		echo "== $name: skipped (SNF_TEST_FAILOVER=0)"
		skipped=$((skipped + 1))
		continue;;
	esac
	echo "== $name"
	# The orchestrator's end-to-end tests share fixed ports and load the machine: one at a time.
	jobs=""
	case "$E2E" in *" $name "*) jobs="--jobs=1";; esac
	"$t" --verbose=0 $jobs >"$log/$name.out" 2>&1
	rc=$?
	grep -v ' INFO \| WARN \|^\[RUN \]\|^\[PASS\]' "$log/$name.out" | tail -n 40
	syn=$(grep 'Synthesis:' "$log/$name.out" | tail -n 1)
	p=$(echo "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(echo "$syn" | sed -n 's/.*Failing: \([0-9]*\).*Crashing: \([0-9]*\).*/\1 \2/p')
	if [ -z "$p" ]; then
		echo "$name: no Criterion summary (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + p))
	for n in $f; do failed=$((failed + n)); done
	[ "$rc" -ne 0 ] && [ -z "$f" ] && failed=$((failed + 1))
done

for f in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=${f##*/fuzz_}
	echo "== fuzz_$name (${FUZZ_SECONDS}s on tests/fuzz/corpus/$name)"
	corpus="$log/corpus_$name"
	mkdir -p "$corpus" && cp tests/fuzz/corpus/"$name"/* "$corpus/"
	if "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$corpus" \
		>"$log/fuzz_$name.out" 2>&1; then
		grep -E '^Done' "$log/fuzz_$name.out"
		passed=$((passed + 1))
	else
		tail -n 40 "$log/fuzz_$name.out"
		failed=$((failed + 1))
	fi
done
rm -rf "$log"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
