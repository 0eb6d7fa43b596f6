#!/bin/sh
# usage: test_bench.sh UDAX SCRATCH
# Runs a small `udax bench` on its default backing (as root: a huge=always
# tmpfs it mounts) with --json and --svg, and once as a table on a plain file
# (--dir in SCRATCH). Checks the exit status, that every workload has both
# columns measured (positive), that the counters the run must have moved are
# positive, that the SVG is well-formed XML with one udax/kernel bar pair per
# workload, that nothing is left mounted or on disk, and the usage errors.
set -u
udax=$1
work=$(mktemp -d "$2/udax-bench-test.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
failures=0
workloads="first-touch hole-fill append-fdatasync random-pread fsync-1 fsync-100 map-sync-store"
usage='usage: udax bench [--dir DIR] [--size MiB] [--json] [--svg FILE]'

bad() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# gone DIR: DIR must be neither mounted nor present any more
gone() {
	[ -n "$1" ] || { bad "no bench directory in the output"; return; }
	[ -e "$1" ] && bad "$1 is left behind: $(ls -A "$1" 2>&1 | tr '\n' ' ')"
	awk -v d="$1" '$2 == d { found = 1 } END { exit !found }' /proc/mounts && bad "$1 is still mounted"
}

# jval KEY: the first number after "KEY": in the JSON (flat keys are unique per line)
jval() {
	sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" "$work/b.json" | head -n 1
}

# positive WHAT VALUE
positive() {
	awk -v a="$2" 'BEGIN { exit !(a != "" && a + 0 > 0) }' || bad "$1 is \"$2\", expected > 0"
}

### the JSON run with a chart
"$udax" bench --size 16 --json --svg "$work/b.svg" >"$work/b.json" 2>"$work/b.err"
rc=$?
[ "$rc" -eq 0 ] || bad "bench --json: exit $rc: $(cat "$work/b.err")"
[ -s "$work/b.err" ] && bad "bench --json wrote to stderr: $(cat "$work/b.err")"
for w in $workloads; do
	line=$(grep "\"name\": \"$w\"" "$work/b.json")
	[ -n "$line" ] || { bad "workload $w missing"; continue; }
	for col in udax kernel ratio; do
		positive "$w.$col" "$(echo "$line" | sed -n "s/.*\"$col\": \([0-9.]*\).*/\1/p")"
	done
	echo "$line" | grep -q '"baseline": "[^"]' || bad "$w names no kernel baseline"
	echo "$line" | grep -q '"ok": true}' || bad "$w failed: $line"
done
grep -q '"cpus": [1-9]' "$work/b.json" || bad "no CPU count"
grep -q '"kernel": "[^"]' "$work/b.json" || bad "no kernel release"
grep -q '"force_flush": true' "$work/b.json" || bad "UDAX_FORCE_FLUSH not stated"
grep -q '"cleaned_up": true, "ok": true}' "$work/b.json" || bad "not ok: $(tail -n 1 "$work/b.json")"
# faults: 2 MiB ones on every backing (the files are 2 MiB aligned), allocations by the hole
# fill and the MAP_SYNC log; writeback by the fsyncs; resident bytes seen at first touch
f2m=$(sed -n 's/.*"faults_2m": {"faults": \([0-9]*\), "mapped": \([0-9]*\).*"alloc": \([0-9]*\).*/\1 \2 \3/p' "$work/b.json")
set -- $f2m
positive "2 MiB faults" "${1:-}"
positive "2 MiB faults mapped" "${2:-}"
positive "2 MiB allocating faults" "${3:-}"
for k in writebacks writeback_entries writeback_bytes around_pages; do
	positive "$k" "$(jval $k)"
done
positive "resident bytes at first touch" \
	"$(sed -n 's/.*"pmd_coverage": {"mapped": \([0-9]*\).*/\1/p' "$work/b.json")"
if grep -q '"backing": "huge-tmpfs"' "$work/b.json"; then
	positive "PMD-mapped bytes on huge tmpfs" \
		"$(sed -n 's/.*"pmd_coverage": {"mapped": [0-9]*, "pmd_mapped": \([0-9]*\).*/\1/p' "$work/b.json")"
fi
if command -v python3 >/dev/null; then
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/b.json" ||
		bad "the JSON does not parse"
	python3 - "$work/b.svg" $workloads <<'EOF' || bad "the SVG is not what it must be"
import sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
groups = [g for g in root.iter(ns + "g") if g.get("class") == "workload"]
ids = [g.get("id") for g in groups]
if ids != sys.argv[2:]:
    sys.exit("groups %s, want %s" % (ids, sys.argv[2:]))
for g in groups:
    bars = [r.get("class") for r in g.iter(ns + "rect")]
    if bars != ["udax", "kernel"]:
        sys.exit("%s: bars %s" % (g.get("id"), bars))
    for r in g.iter(ns + "rect"):
        if float(r.get("height")) <= 0:
            sys.exit("%s: an empty %s bar" % (g.get("id"), r.get("class")))
EOF
else
	echo "python3 missing: the SVG checked with grep only"
	grep -q '^<svg ' "$work/b.svg" && grep -q '</svg>$' "$work/b.svg" || bad "no svg element"
	for w in $workloads; do
		grep -q "<g class=\"workload\" id=\"$w\">" "$work/b.svg" || bad "no SVG group for $w"
	done
	[ "$(grep -c '<rect class="udax"' "$work/b.svg")" -eq 8 ] || bad "not one udax bar per workload"
fi
gone "$(sed -n 's/.*"dir": "\([^"]*\)".*/\1/p' "$work/b.json")"

### the table on a plain file in a directory given with --dir
"$udax" bench --dir "$work" --size 4 >"$work/t.out" 2>"$work/t.err"
rc=$?
[ "$rc" -eq 0 ] || bad "bench --dir: exit $rc: $(cat "$work/t.err")"
head -n 1 "$work/t.out" | grep -q "^udax bench in $work/udax-bench\.[A-Za-z0-9]*: plain file$" ||
	bad "bench --dir: first line: $(head -n 1 "$work/t.out")"
grep -q '^   machine: .*, [1-9][0-9]* CPUs, kernel ' "$work/t.out" || bad "no machine line"
grep -q 'UDAX_FORCE_FLUSH=1' "$work/t.out" || bad "UDAX_FORCE_FLUSH not stated"
for title in 'first touch, read 4 KiB pages' 'fill a hole through a mapping' \
	'4 KiB append + fdatasync' '4 KiB random pread' 'dirty 1 random mapped' \
	'dirty 100 random mapped' 'MAP_SYNC 4 KiB store + persist'; do
	grep "^$title" "$work/t.out" | grep -Eq ' [0-9]+ +[0-9]+ +[0-9]+\.[0-9]+$' ||
		bad "table: no measured row for \"$title\""
done
grep -q '^counters of the whole run' "$work/t.out" || bad "table: no counters"
grep -Eq '^  writeback: [1-9][0-9]* ranges' "$work/t.out" || bad "table: no writeback"
grep -q 'everything it made is removed$' "$work/t.out" || bad "table: no cleanup line"
gone "$(sed -n '1s/^udax bench in \(.*\): [a-z].*$/\1/p' "$work/t.out")"
[ -z "$(ls -A "$work" | grep udax-bench)" ] || bad "left in --dir: $(ls -A "$work")"

### usage and errors
# expect CODE STDERR ARGS...: exit CODE, exactly STDERR, nothing on stdout
expect() {
	code=$1 want=$2
	shift 2
	"$udax" bench "$@" >"$work/o" 2>"$work/e"
	rc=$?
	[ "$rc" -eq "$code" ] || bad "bench $*: exit $rc, want $code"
	[ "$(cat "$work/e")" = "$want" ] || bad "bench $*: stderr \"$(cat "$work/e")\""
	[ -s "$work/o" ] && bad "bench $*: wrote to stdout"
}
expect 2 "udax: bench: bad size \"3\": an even number of MiB from 4 to 1024
$usage" --size 3
expect 2 "udax: bench: bad size \"2048\": an even number of MiB from 4 to 1024
$usage" --size 2048
expect 2 "udax: bench: bad size \"5\": an even number of MiB from 4 to 1024
$usage" --size 5
expect 2 "udax: bench: bad size \"16M\": an even number of MiB from 4 to 1024
$usage" --size 16M
expect 2 "udax bench: unrecognized option '--frob'
$usage" --frob
expect 2 "udax: bench: unexpected argument \"extra\"
$usage" extra
expect 1 "udax: bench: $work/none/b.svg: No such file or directory" --svg "$work/none/b.svg"
expect 1 "udax: bench: cannot make a directory in $work/none: No such file or directory" \
	--dir "$work/none" --svg "$work/x.svg"
[ -e "$work/x.svg" ] && bad "a failed run left its SVG file"
"$udax" bench --help >"$work/h" 2>"$work/e" || bad "bench --help: exit $?"
[ "$(head -n 1 "$work/h")" = "$usage" ] || bad "bench --help: usage line"

echo "$failures failures"
[ "$failures" -eq 0 ]
