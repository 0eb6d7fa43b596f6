#!/bin/sh
# usage: test_demo.sh UDAX SCRATCH
# Runs `udax demo` on its default backing (as root: a huge=always tmpfs it
# mounts) and on a plain file (--dir in SCRATCH, a directory on the build's
# file system), as a table and as JSON. Checks the exit status, that the step
# headlines come in order, that the numbers agree with what each step claims
# (data found after the power loss, only dirty entries written back, the
# truncate waited at least as long as the pin was held, one fault per
# device-DAX run, ...), that an interrupted demo (SIGINT or SIGTERM in the
# middle of the pinned-truncate step, SIGPIPE from `| head`) still removes
# everything, and that nothing is left mounted or on disk afterwards.
set -u
udax=$1
work=$(mktemp -d "$2/udax-demo-test.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
failures=0

bad() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

headlines='1. mkfs: a udaxfs on the pool
2. write a file
3. map it: PMD coverage
4. a hole: read as the zero page, allocated on write
5. a MAP_SYNC store survives a simulated power loss
6. fsync flushes only the dirty entries
7. a truncate waits for a pinned page
8. a device-DAX region'

# gone DIR: DIR must be neither mounted nor present any more
gone() {
	[ -n "$1" ] || { bad "no demo directory in the output"; return; }
	[ -e "$1" ] && bad "$1 is left behind: $(ls -A "$1" 2>&1 | tr '\n' ' ')"
	awk -v d="$1" '$2 == d { found = 1 } END { exit !found }' /proc/mounts && bad "$1 is still mounted"
}

# dir_of FILE: the demo's directory, from the first line of its table output
dir_of() {
	sed -n '1s/^udax demo in \(.*\): [a-z].*$/\1/p' "$1"
}

# val FILE STEP KEY: the value of KEY on STEP's line of the JSON
val() {
	sed -n "s/.*\"name\": \"$2\".*\"$3\": \([^,}]*\).*/\1/p" "$1"
}

# is FILE STEP KEY OP NUMBER: the value compares so (awk does the arithmetic)
is() {
	v=$(val "$1" "$2" "$3")
	awk -v a="$v" -v b="$5" "BEGIN { exit !(a != \"\" && a + 0 $4 b + 0) }" ||
		bad "$1: $2.$3 is \"$v\", expected $4 $5"
}

# human NAME ARGS...: a table run; exit 0, the headlines in order, nothing left
human() {
	name=$1
	shift
	"$udax" demo "$@" >"$work/$name.out" 2>"$work/$name.err"
	rc=$?
	[ "$rc" -eq 0 ] || bad "udax demo $* ($name): exit $rc: $(cat "$work/$name.out" "$work/$name.err")"
	[ "$(grep -E '^[0-9]+\. ' "$work/$name.out")" = "$headlines" ] ||
		bad "$name: the step headlines are not these, in this order: $headlines"
	grep -q '^demo: 8 of 8 steps held in [0-9.]* s; everything it made is removed$' "$work/$name.out" ||
		bad "$name: no success summary"
	grep -q 'FAILED' "$work/$name.out" && bad "$name: a step failed: $(grep FAILED "$work/$name.out")"
	gone "$(dir_of "$work/$name.out")"
}

# json NAME ARGS...: a JSON run and the consistency of its numbers
json() {
	name=$1
	shift
	f=$work/$name.json
	"$udax" demo --json "$@" >"$f" 2>"$work/$name.err"
	rc=$?
	[ "$rc" -eq 0 ] || bad "udax demo --json $* ($name): exit $rc: $(cat "$f" "$work/$name.err")"
	if command -v python3 >/dev/null; then
		python3 -m json.tool "$f" >/dev/null || bad "$f: not JSON"
	elif command -v jq >/dev/null; then
		jq . "$f" >/dev/null || bad "$f: not JSON"
	fi
	[ "$(grep -c '^  {"step": [0-9], .*"ok": true}' "$f")" -eq 8 ] || bad "$f: not all 8 steps ok"
	grep -q '"steps_failed": 0, "cleaned_up": true, "ok": true}$' "$f" || bad "$f: not ok overall"
	gone "$(sed -n 's/^{"dir": "\([^"]*\)".*/\1/p' "$f")"
	is "$f" mkfs pmd_free ">" 0
	is "$f" write pmd_bytes "==" "$(val "$f" write bytes)"
	is "$f" map resident_bytes "==" "$(val "$f" map bytes)"
	is "$f" map faults_2m ">=" 1
	if [ "$(val "$f" map pmd_possible)" = true ]; then
		is "$f" map pmd_mapped_bytes ">" 0
	else
		is "$f" map pmd_mapped_bytes "==" 0
	fi
	is "$f" hole blocks_before "==" 0
	is "$f" hole blocks_after_read "==" 0
	is "$f" hole zero_2m ">" 0
	is "$f" hole alloc_2m ">" 0
	is "$f" hole blocks_after_write ">" 0
	[ "$(val "$f" power-loss data_found)" = true ] || bad "$f: the MAP_SYNC store was not found"
	[ "$(val "$f" power-loss unflushed_lost)" = true ] || bad "$f: the unflushed store survived"
	is "$f" power-loss in_flight_lines ">" 0
	is "$f" power-loss fsck_problems "==" 0
	is "$f" fsync entries ">" 0
	is "$f" fsync bytes ">=" 8192
	is "$f" fsync bytes "<" "$(val "$f" fsync file_bytes)"
	is "$f" fsync second_entries "==" 0
	is "$f" truncate pin_held_ms ">=" "$(val "$f" truncate pin_delay_ms)"
	is "$f" truncate truncate_ms ">=" "$(val "$f" truncate pin_held_ms)"
	is "$f" truncate size_after "==" 0
	is "$f" truncate media_offset ">" 0
	is "$f" devdax faults_2m "==" 1
	is "$f" devdax faults_4k "==" 0
	[ "$(val "$f" devdax sigbus)" = true ] || bad "$f: no SIGBUS from the revoked region"
	[ "$(val "$f" devdax enxio)" = true ] || bad "$f: no ENXIO from the revoked region"
}

### the default backing: a huge=always tmpfs as root (PMDs), else a plain file in /tmp
human default
json default
if [ "$(id -u)" -eq 0 ] && grep -q '"backing": "huge-tmpfs"' "$work/default.json"; then
	is "$work/default.json" map pmd_mapped_bytes "==" "$(val "$work/default.json" map bytes)"
	is "$work/default.json" devdax pmd_mapped_bytes ">" 0
elif [ "$(id -u)" -eq 0 ]; then
	echo "note: root, but no huge=always tmpfs: $(sed -n 's/.*"why": "\([^"]*\)".*/\1/p' "$work/default.json")"
fi

### a plain file: --dir on the build's directory, nothing mounted
mkdir "$work/plain"
human plain --dir "$work/plain"
json plain --dir "$work/plain"
grep -q '"backing": "file"' "$work/plain.json" || bad "--dir did not give a plain file"
[ -z "$(ls -A "$work/plain")" ] || bad "--dir: left $(ls -A "$work/plain")"

### interrupted while a pin holds a truncate (a second thread, the pool and the tmpfs
### mounted): killed by the signal, and everything removed. A script starts background
### commands with SIGINT ignored (which the demo keeps): env gives it back its default.
intr="env --default-signal=INT"
$intr true 2>/dev/null || { echo "note: env has no --default-signal; SIGTERM only"; intr=""; }
for mode in default plain; do
	sig=TERM code=143
	[ -n "$intr" ] && sig=INT code=130
	if [ "$mode" = plain ]; then set -- --dir "$work/plain"; sig=TERM code=143; else set --; fi
	rm -f "$work/int.out"
	$intr "$udax" demo "$@" >"$work/int.out" 2>&1 &
	pid=$!
	i=0
	while ! grep -q '^7\. ' "$work/int.out" 2>/dev/null && [ $i -lt 2000 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	kill -$sig $pid
	wait $pid
	rc=$?
	[ "$rc" -eq $code ] || bad "SIG$sig ($mode): exit $rc, not $code (killed by SIG$sig)"
	gone "$(dir_of "$work/int.out")"
done
[ -z "$(ls -A "$work/plain")" ] || bad "SIGTERM: left $(ls -A "$work/plain")"
# `udax demo | head`: the demo dies of SIGPIPE at its next write, and cleans up first
"$udax" demo | head -n 2 >"$work/pipe.out"
gone "$(dir_of "$work/pipe.out")"

### usage and errors
"$udax" demo --help >"$work/help" 2>&1 || bad "demo --help: exit $?"
head -n 1 "$work/help" | grep -q '^usage: udax demo \[--dir DIR\] \[--json\]$' || bad "demo --help: usage line"
"$udax" demo --frob >"$work/o" 2>"$work/e"
[ $? -eq 2 ] || bad "demo --frob: not exit 2"
[ "$(cat "$work/e")" = "udax demo: unrecognized option '--frob'
usage: udax demo [--dir DIR] [--json]" ] || bad "demo --frob: $(cat "$work/e")"
"$udax" demo extra >"$work/o" 2>"$work/e"
[ $? -eq 2 ] || bad "demo extra: not exit 2"
[ "$(cat "$work/e")" = 'udax: demo: unexpected argument "extra"
usage: udax demo [--dir DIR] [--json]' ] || bad "demo extra: $(cat "$work/e")"
"$udax" demo --dir "$work/missing" >"$work/o" 2>"$work/e"
[ $? -eq 1 ] || bad "demo --dir missing: not exit 1"
[ "$(cat "$work/e")" = "udax: demo: cannot make a directory in $work/missing: No such file or directory" ] ||
	bad "demo --dir missing: $(cat "$work/e")"
[ -e "$work/missing" ] && bad "demo --dir missing created it"

echo "$failures failures"
[ "$failures" -eq 0 ]
