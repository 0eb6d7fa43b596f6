#!/bin/sh
# usage: test_udax_tool.sh UDAX SAMPLEFILE
# Runs udax subcommands and compares exit code, stdout and stderr with what
# they must be. Any difference fails the test and prints both.
set -u
udax=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") sample=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dir=$(mktemp -d /tmp/udax-tool-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir" || exit 1
failures=0

# expect CODE STDOUT STDERR -- ARGS...   (STDOUT/STDERR exact, "\n"-joined lines)
expect() {
	code=$1 out=$2 err=$3
	shift 4
	"$udax" "$@" >out.txt 2>err.txt
	rc=$?
	printf '%s' "$out" >want_out.txt
	printf '%s' "$err" >want_err.txt
	# compare without the final newline of the actual output
	printf '%s' "$(cat out.txt)" >got_out.txt
	printf '%s' "$(cat err.txt)" >got_err.txt
	if [ "$rc" -ne "$code" ] || ! cmp -s got_out.txt want_out.txt || ! cmp -s got_err.txt want_err.txt; then
		echo "FAIL: udax $*"
		echo "  exit $rc (want $code)"
		echo "  stdout: $(cat got_out.txt)"
		echo "  want:   $out"
		echo "  stderr: $(cat got_err.txt)"
		echo "  want:   $err"
		failures=$((failures + 1))
	fi
}

# pool creation and its errors; a refused mkfs leaves no file behind
expect 1 "" "udax: small.pool: 1048576 bytes is too small for udaxfs (minimum 8388608)" -- mkfs --size 1M small.pool
[ -e small.pool ] && { echo "FAIL: refused mkfs created small.pool"; failures=$((failures + 1)); }
expect 1 "" 'udax: mkfs: bad size "12Q" (a number with K, M or G)' -- mkfs --size 12Q p.pool
expect 0 "udaxfs created on p.pool" "" -- mkfs --size 16M p.pool
expect 0 "p.pool: 0 problems found" "" -- fsck p.pool

# copies in and out, byte for byte
expect 0 "" "" -- cp "$sample" p.pool:/sample
expect 0 "" "" -- cp p.pool:/sample copy
cmp -s "$sample" copy || { echo "FAIL: copy out differs from the original"; failures=$((failures + 1)); }
expect 1 "" "udax: cp: /missing: no such file or directory" -- cp p.pool:/missing copy2
expect 1 "" "udax: cp: exactly one of SRC and DST must be POOL:PATH (neither is)" -- cp "$sample" copy3
expect 1 "" "udax: cp: exactly one of SRC and DST must be POOL:PATH (both are)" -- cp p.pool:/a p.pool:/b
expect 0 "p.pool: 0 problems found" "" -- fsck p.pool

# a pool whose both superblocks are gone: fsck cannot check it, nothing is written
dd if=/dev/zero of=p.pool bs=4096 count=2 conv=notrunc 2>/dev/null
cp p.pool before.pool
expect 8 "" "udax: p.pool: superblock: bad magic (not a udaxfs pool?); backup: bad magic (not a udaxfs pool?)" -- fsck --repair p.pool
cmp -s p.pool before.pool || { echo "FAIL: fsck --repair changed a pool it could not check"; failures=$((failures + 1)); }
expect 1 "" "udax: p.pool: superblock: bad magic (not a udaxfs pool?); backup: bad magic (not a udaxfs pool?)" -- cp p.pool:/sample copy4

# usage errors
expect 8 "" "udax: missing.pool: No such file or directory" -- fsck missing.pool
expect 1 "" "udax: unknown command \"frobnicate\"
usage: udax COMMAND [ARGS]   (udax COMMAND --help for details)
  media    classify a media backing (device-DAX, file, tmpfs, hugetlbfs, memfd)
  mkfs     create an empty udaxfs on a pool
  fsck     check (and repair) an unmounted pool
  cp       copy a file into or out of a pool (POOL:PATH)" -- frobnicate

echo "$failures failures"
[ "$failures" -eq 0 ]
