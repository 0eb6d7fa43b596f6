#!/usr/bin/env bash
# Builds udax three ways and runs the tests:
#   release  - every test
#   asan     - every test under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan     - the tests labelled "concurrency" under ThreadSanitizer
# then runs the README's main-job command (scripts/demo.sh) as one more check.
# Ends with one line "N passed, N failed, N skipped" over all three runs.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || exit 1
jobs=$(nproc)
total_pass=0 total_fail=0 total_skip=0
run() { # name sanitizer ctest-args...
	local name=$1 san=$2 dir=build/test-$1
	shift 2
	echo "=== $name build ==="
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUDAX_SANITIZE="$san" >/dev/null || return 1
	cmake --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; total_fail=$((total_fail + 1)); return 1; }
	(cd "$dir" && ctest --output-on-failure -j "$jobs" "$@") | tee "$dir/ctest.log"
	# one status line per test: "N/M Test #K: name ...   Passed|***Failed|***Skipped|..."
	local status pass skip fail
	status=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$dir/ctest.log")
	pass=$(grep -cE ' Passed +[0-9.]+ sec$' <<<"$status")
	skip=$(grep -cE '\*\*\*Skipped +[0-9.]+ sec$' <<<"$status")
	fail=$(($(grep -c . <<<"$status") - pass - skip))
	total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail)) total_skip=$((total_skip + skip))
}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run release ""
run asan address
run tsan thread -L concurrency
# the README's main-job command must keep working
echo "=== demo ==="
mkdir -p build
if bash scripts/demo.sh >build/demo.log 2>&1; then
	echo "demo: passed"
	total_pass=$((total_pass + 1))
else
	tail -30 build/demo.log
	echo "demo: FAILED (build/demo.log)"
	total_fail=$((total_fail + 1))
fi
echo "tests: ${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
