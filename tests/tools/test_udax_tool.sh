#!/bin/sh
# usage: test_udax_tool.sh UDAX SAMPLEFILE
# Runs every udax subcommand and compares exit code, stdout and stderr with
# what they must be. Any difference fails the test and prints both. Only
# genuinely variable fields are masked (mask below): times, the uuid, uid/gid,
# and the backing's classification, which depends on the file system the
# temporary directory is on (checked against `udax media` instead).
set -u
udax=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") sample=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dir=$(mktemp -d "${TMPDIR:-/tmp}/udax-tool-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir" || exit 1
failures=0

bad() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

mask() {
	sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/TIME/g' \
		-e 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/UUID/g' \
		-e 's/"([amc]time_ns)": [0-9]+/"\1": T/g' \
		-e 's/^(uid|gid)( +)[0-9]+$/\1\2ID/' -e 's/"(uid|gid)": [0-9]+/"\1": ID/g' \
		-e 's/^(backing|media size|volatile|granularity|persist method|flush instruction|pmd capable|pud capable|why)( +).*/\1\2MEDIA/' \
		-e 's/"backing": .*"why": "[^"]*"/MEDIA/' -e 's/"backing": "[a-z-]+", "pmd_capable": (true|false)/MEDIA/' \
		-e 's/^backing   [a-z-]+ \(pmd capable: (yes|no)\)$/backing   MEDIA/' -e '/^note: the backing maps 4 KiB pages only/d'
}

# expect CODE STDOUT STDERR -- ARGS...   (STDOUT/STDERR exact after mask, "\n"-joined lines)
expect() {
	code=$1 out=$2 err=$3
	shift 4
	"$udax" "$@" >out.txt 2>err.txt
	rc=$?
	printf '%s' "$out" >want_out.txt
	printf '%s' "$err" >want_err.txt
	# compare without the final newline of the actual output
	printf '%s' "$(mask <out.txt)" >got_out.txt
	printf '%s' "$(mask <err.txt)" >got_err.txt
	if [ "$rc" -ne "$code" ] || ! cmp -s got_out.txt want_out.txt || ! cmp -s got_err.txt want_err.txt; then
		echo "FAIL: udax $*"
		echo "  exit $rc (want $code)"
		echo "  stdout:"
		sed 's/^/    | /' got_out.txt
		echo
		echo "  want:"
		sed 's/^/    | /' want_out.txt
		echo
		echo "  stderr:"
		sed 's/^/    | /' got_err.txt
		echo
		echo "  want:"
		sed 's/^/    | /' want_err.txt
		echo
		failures=$((failures + 1))
	fi
}

# Deterministic contents: 5000 bytes and 5 MiB.
yes abcdefgh | head -c 5000 >small
yes 0123456789abcdef | head -c 5242880 >big

### mkfs: errors first; a refused mkfs leaves no file behind
expect 1 "" "udax: small.pool: 1048576 bytes is too small for udaxfs (minimum 8388608)" -- mkfs --size 1M small.pool
[ -e small.pool ] && bad "refused mkfs created small.pool"
expect 1 "" 'udax: mkfs: bad size "12Q" (a number with K, M, G or T)' -- mkfs --size 12Q p.pool
expect 1 "" 'udax: mkfs: bad inode count "-5"' -- mkfs --inodes -5 p.pool
expect 1 "" 'udax: media: bad size "1X" (a number with K, M, G or T)' -- media --create 1X p.pool
expect 2 "" "udax mkfs: unrecognized option '--frob'
usage: udax mkfs [--size SIZE] [--inodes N] [--raw SIZE] PATH" -- mkfs --frob p.pool
expect 2 "" "udax: mkfs: expected one PATH
usage: udax mkfs [--size SIZE] [--inodes N] [--raw SIZE] PATH" -- mkfs
[ -e p.pool ] && bad "refused mkfs created p.pool"
expect 0 "udaxfs created on p.pool" "" -- mkfs --size 16M p.pool
expect 0 "p.pool: 0 problems found" "" -- fsck p.pool

### info of an empty pool
expect 0 "pool                p.pool
uuid                UUID
format version      4
mount count         1
block size          4096
size                4096 blocks (16.0 MiB)
journal             258 blocks
bitmap              1 blocks
inode table         32 blocks
data start          block 512
raw region          none
backing             MEDIA
media size          MEDIA
volatile            MEDIA
granularity         MEDIA
persist method      MEDIA
flush instruction   MEDIA
pmd capable         MEDIA
pud capable         MEDIA
why                 MEDIA
data blocks         3584 (14.0 MiB)
used                0 blocks (0.0%)
free                3584 blocks (14.0 MiB)
inodes              511 (510 free)
free runs           1 (0 under 64 KiB)
longest free run    3584 blocks (14.0 MiB)
free 2 MiB groups   7
pmd eligible free   100.0%
known-zero free     3584 blocks (14.0 MiB) from block 512" "" -- info p.pool
# the backing facts are the media layer's, as `udax media` shows them
"$udax" media p.pool | sed -n 's/^kind *//p' >want_kind.txt
"$udax" info p.pool | sed -n 's/^backing *//p' >got_kind.txt
cmp -s want_kind.txt got_kind.txt || bad "info's backing ($(cat got_kind.txt)) is not media's ($(cat want_kind.txt))"
"$udax" media p.pool | sed -n 's/^reason *//p' >want_why.txt
"$udax" info p.pool | sed -n 's/^why *//p' >got_why.txt
cmp -s want_why.txt got_why.txt || bad "info's reason differs from media's"

### info of a fragmented pool: a 2-block hole between two small files
"$udax" mkfs --size 16M q.pool >/dev/null
for n in a b c; do "$udax" cp small "q.pool:/$n"; done
"$udax" rm q.pool:/b
expect 0 "pool                q.pool
uuid                UUID
format version      4
mount count         5
block size          4096
size                4096 blocks (16.0 MiB)
journal             258 blocks
bitmap              1 blocks
inode table         32 blocks
data start          block 512
raw region          none
backing             MEDIA
media size          MEDIA
volatile            MEDIA
granularity         MEDIA
persist method      MEDIA
flush instruction   MEDIA
pmd capable         MEDIA
pud capable         MEDIA
why                 MEDIA
data blocks         3584 (14.0 MiB)
used                5 blocks (0.1%)
free                3579 blocks (14.0 MiB)
inodes              511 (508 free)
free runs           2 (1 under 64 KiB)
longest free run    3577 blocks (14.0 MiB)
free 2 MiB groups   6
pmd eligible free   85.8%
known-zero free     3577 blocks (14.0 MiB) from block 519" "" -- info q.pool
expect 0 '{"pool": "q.pool", "uuid": "UUID", "version": 4, "mount_count": 6, "block_size": 4096, "blocks": 4096, "journal_blocks": 258, "bitmap_blocks": 1, "itable_blocks": 32, "data_start": 512, "raw_offset": 0, "raw_size": 0, MEDIA, "data_blocks": 3584, "free_blocks": 3579, "inodes": 511, "free_inodes": 508, "free_runs": 2, "free_runs_small": 1, "free_run_max": 3577, "free_pmd_groups": 6, "pmd_eligible_free_permille": 858, "zero_start": 519}' "" -- info --json q.pool

### a raw region for device-DAX at the end of the pool: refused sizes change nothing
sum_before=$(cksum <q.pool)
expect 1 "" "udax: q.pool: raw region size 3145728 is not a multiple of 2 MiB" -- mkfs --raw 3M q.pool
expect 1 "" "udax: q.pool: a raw region of 10485760 bytes (2097152-aligned) leaves 6291456 of the pool's 16777216 bytes to the file system (minimum 8388608)" -- mkfs --raw 10M q.pool
expect 1 "" "udax: q.pool: a raw region of 1073741824 bytes (1073741824-aligned) leaves 0 of the pool's 16777216 bytes to the file system (minimum 8388608)" -- mkfs --raw 1G q.pool
expect 1 "" 'udax: mkfs: bad raw region size "2Z" (a number with K, M, G or T)' -- mkfs --raw 2Z q.pool
[ "$(cksum <q.pool)" = "$sum_before" ] || bad "a refused mkfs --raw changed q.pool"
expect 1 "" "udax: r.pool: raw region size 1048576 is not a multiple of 2 MiB" -- mkfs --size 16M --raw 1M r.pool
[ -e r.pool ] && bad "refused mkfs --raw created r.pool"
expect 0 "udaxfs created on r.pool
raw region: 4194304 bytes (4.0 MiB) at offset 14680064" "" -- mkfs --size 18M --raw 4M r.pool
expect 0 "r.pool: 0 problems found" "" -- fsck r.pool
expect 0 "pool                r.pool
uuid                UUID
format version      4
mount count         1
block size          4096
size                3584 blocks (14.0 MiB)
journal             258 blocks
bitmap              1 blocks
inode table         28 blocks
data start          block 512
raw region          4194304 bytes (4.0 MiB) at offset 14680064
backing             MEDIA
media size          MEDIA
volatile            MEDIA
granularity         MEDIA
persist method      MEDIA
flush instruction   MEDIA
pmd capable         MEDIA
pud capable         MEDIA
why                 MEDIA
data blocks         3072 (12.0 MiB)
used                0 blocks (0.0%)
free                3072 blocks (12.0 MiB)
inodes              447 (446 free)
free runs           1 (0 under 64 KiB)
longest free run    3072 blocks (12.0 MiB)
free 2 MiB groups   6
pmd eligible free   100.0%
known-zero free     3072 blocks (12.0 MiB) from block 512" "" -- info r.pool
"$udax" info --json r.pool | grep -q '"data_start": 512, "raw_offset": 14680064, "raw_size": 4194304, ' || bad "info --json: no raw region"
# a pool cut short: the raw region now runs past the media. fsck reports it (it
# cannot repair it: the region's data is not the file system's), info says so,
# and the file system part still works.
truncate -s 16M r.pool
expect 4 "raw region [14680064, +4194304) ends past the 16777216 bytes of media
r.pool: 1 problem found" "" -- fsck r.pool
"$udax" info r.pool | grep -qx 'raw region          4194304 bytes (4.0 MiB) at offset 14680064 (past the media end: corrupt)' || bad "info does not flag the cut raw region"
expect 0 "" "" -- cp small r.pool:/small
rm -f r.pool

### copies in and out, byte for byte; namespace changes
expect 0 "" "" -- cp "$sample" p.pool:/sample
expect 0 "" "" -- cp p.pool:/sample copy
cmp -s "$sample" copy || bad "copy out differs from the original"
expect 0 "" "" -- cp small p.pool:/small
expect 0 "" "" -- mkdir p.pool:/d
expect 0 "" "" -- mkdir -p p.pool:/d/e/f
expect 0 "" "" -- mkdir -p p.pool:/d/e
expect 0 "" "" -- cp big p.pool:/d/big
expect 0 "" "" -- cp p.pool:/d/big big.out
cmp -s big big.out || bad "5 MiB copy out differs from the original"
expect 1 "" "udax: cp: /missing: no such file or directory" -- cp p.pool:/missing copy2
expect 1 "" "udax: cp: exactly one of SRC and DST must be POOL:PATH (neither is)" -- cp "$sample" copy3
expect 1 "" "udax: cp: exactly one of SRC and DST must be POOL:PATH (both are)" -- cp p.pool:/a p.pool:/b
expect 1 "" "udax: nosuchfile: No such file or directory" -- cp nosuchfile p.pool:/x
expect 2 "" "udax: cp: expected SRC and DST
usage: udax cp SRC DST" -- cp small

sample_size=$(wc -c <"$sample" | tr -d ' ')
sample_blocks=$(((sample_size + 4095) / 4096))

### ls
expect 0 "drwxr-xr-x   3         4096        1 TIME d/
-rw-r--r--   1 $(printf '%12s %8s' "$sample_size" "$sample_blocks") TIME sample
-rw-r--r--   1         5000        2 TIME small" "" -- ls p.pool
expect 0 "-rw-r--r--   1      5242880     1536 TIME big
drwxr-xr-x   3         4096        1 TIME e/" "" -- ls p.pool:/d
expect 0 "-rw-r--r--   1      5242880     1536 TIME /d/big" "" -- ls p.pool:/d/big
expect 0 '[{"name": "big", "type": "file", "ino": 7, "mode": "0644", "nlink": 1, "size": 5242880, "blocks": 1536, "mtime_ns": T},
 {"name": "e", "type": "dir", "ino": 5, "mode": "0755", "nlink": 3, "size": 4096, "blocks": 1, "mtime_ns": T}]' "" -- ls --json p.pool:/d
expect 0 "[]" "" -- ls --json p.pool:/d/e/f
expect 1 "" "udax: /nope: no such file or directory" -- ls p.pool:/nope
expect 1 "" "udax: /small/x: a path component is not a directory" -- ls p.pool:/small/x
expect 2 "" "udax: ls: expected one POOL[:PATH]
usage: udax ls [--json] POOL[:PATH]" -- ls

### tree
expect 0 "/
|-- d/
|   |-- big (5242880)
|   \`-- e/
|       \`-- f/
|-- sample ($sample_size)
\`-- small (5000)

3 directories, 3 files" "" -- tree p.pool
expect 0 '{"name": "/d", "type": "dir", "size": 4096, "children": [{"name": "big", "type": "file", "size": 5242880}, {"name": "e", "type": "dir", "size": 4096, "children": [{"name": "f", "type": "dir", "size": 0, "children": []}]}], "directories": 2, "files": 1}' "" -- tree --json p.pool:/d
expect 1 "" "udax: tree: /small: not a directory" -- tree p.pool:/small

### stat
expect 0 "path       /small
type       file
inode      3
mode       0644 (-rw-r--r--)
links      1
uid        ID
gid        ID
size       5000
blocks     2 (4 KiB)
extents    1
pmd bytes  0
access     TIME
modify     TIME
change     TIME" "" -- stat p.pool:/small
expect 0 '{"path": "/d", "type": "dir", "ino": 4, "mode": "0755", "nlink": 3, "uid": ID, "gid": ID, "size": 4096, "blocks": 1, "atime_ns": T, "mtime_ns": T, "ctime_ns": T}' "" -- stat --json p.pool:/d
expect 0 '{"path": "/d/big", "type": "file", "ino": 7, "mode": "0644", "nlink": 1, "uid": ID, "gid": ID, "size": 5242880, "blocks": 1536, "atime_ns": T, "mtime_ns": T, "ctime_ns": T, "extents": 1, "pmd_bytes": 6291456}' "" -- stat --json p.pool:/d/big
expect 1 "" "udax: /d/nope: no such file or directory" -- stat p.pool:/d/nope

### map: 2 MiB chunks make the 5 MiB copy PMD-mappable from its first byte
expect 0 "path      /d/big
size      5242880
extents   1
backing   MEDIA

       LOGICAL       PHYSICAL         LENGTH      PMD BYTES
             0        4194304        6291456        6291456

2 MiB RANGES                STATUS
0-4194304                   pmd (2)
4194304-6291456             crosses-eof (1)

pmd eligible: 2 of 2 whole 2 MiB ranges below EOF" "" -- map p.pool:/d/big
expect 0 '{"path": "/d/big", "size": 5242880, MEDIA, "extents": [{"logical": 0, "physical": 4194304, "length": 6291456, "pmd_bytes": 6291456}], "ranges": [{"start": 0, "end": 4194304, "status": "pmd"}, {"start": 4194304, "end": 6291456, "status": "crosses-eof"}], "pmd_ranges": 2, "ranges_below_eof": 2}' "" -- map --json p.pool:/d/big
# a small file: one partial range, nothing PMD-mappable
"$udax" map --json p.pool:/small | grep -q '"ranges": \[{"start": 0, "end": 2097152, "status": "partial"}\], "pmd_ranges": 0, "ranges_below_eof": 0}$' ||
	bad "map --json of a small file"
expect 1 "" "udax: map: /d: not a regular file" -- map p.pool:/d
expect 2 "" 'udax: map: expected POOL:PATH, got "p.pool"
usage: udax map [--json] POOL:PATH' -- map p.pool

### rm, mv, mkdir and their errors
expect 1 "" "udax: rm: /d: is a directory (use -r)" -- rm p.pool:/d
expect 1 "" "udax: rm: refusing to remove the root directory" -- rm -r p.pool:/
expect 1 "" "udax: /nope: no such file or directory" -- rm p.pool:/nope
expect 2 "" 'udax: rm: expected POOL:PATH, got "p.pool"
usage: udax rm [-r] POOL:PATH' -- rm p.pool
expect 1 "" "udax: /d: file exists" -- mkdir p.pool:/d
expect 1 "" "udax: /x/y: no such file or directory" -- mkdir p.pool:/x/y
expect 1 "" "udax: /small: file exists" -- mkdir -p p.pool:/small/z
expect 0 "" "" -- mv p.pool:/small p.pool:/renamed
expect 0 "" "" -- mv p.pool:/renamed p.pool:/d/e
expect 1 "" "udax: /small: no such file or directory" -- mv p.pool:/small p.pool:/x
expect 1 "" "udax: mv: p.pool:/d and other.pool:/d are in different pools (use cp and rm)" -- mv p.pool:/d other.pool:/d
expect 0 "" "" -- rm p.pool:/sample
expect 0 "" "" -- rm -r p.pool:/d/e
expect 0 "/
\`-- d/
    \`-- big (5242880)

1 directory, 1 file" "" -- tree p.pool
expect 0 "p.pool: 0 problems found" "" -- fsck p.pool
expect 0 "" "" -- rm -r p.pool:/d
expect 0 '{"name": "/", "type": "dir", "size": 4096, "children": [], "directories": 0, "files": 0}' "" -- tree --json p.pool:/

### fsck: a leaked run of blocks (bitmap bits of free blocks set), report, --json, --repair
printf '\377' | dd of=p.pool bs=1 seek=$((260 * 4096 + 500)) conv=notrunc 2>/dev/null
cp p.pool leak.pool
expect 4 "blocks 4000-4007: marked in use but owned by nothing
p.pool: 1 problem found" "" -- fsck p.pool
expect 4 '{"pool": "p.pool", "problems": 1, "report": ["blocks 4000-4007: marked in use but owned by nothing"], "repair": false, "exit": 4}' "" -- fsck --json p.pool
cmp -s p.pool leak.pool || bad "fsck without --repair changed the pool"
expect 1 '{"pool": "leak.pool", "problems": 1, "report": ["blocks 4000-4007: marked in use but owned by nothing (repaired)"], "repair": true, "left": 0, "left_report": [], "exit": 1}' "" -- fsck --repair --json leak.pool
expect 1 "blocks 4000-4007: marked in use but owned by nothing (repaired)
p.pool: 1 problem found
p.pool: 0 problems left after repair" "" -- fsck --repair p.pool
expect 0 '{"pool": "p.pool", "problems": 0, "report": [], "repair": true, "exit": 0}' "" -- fsck --repair --json p.pool
expect 16 "" "udax: fsck: expected one PATH
usage: udax fsck [--repair] [--json] PATH" -- fsck
expect 8 "" "udax: missing.pool: No such file or directory" -- fsck missing.pool

### a corrupt image: both superblock checksums broken. Every command fails with
### the same message and the pool is not changed.
cp p.pool bad.pool
printf '\125' | dd of=bad.pool bs=1 seek=112 conv=notrunc 2>/dev/null
printf '\125' | dd of=bad.pool bs=1 seek=$((4096 + 112)) conv=notrunc 2>/dev/null
sum_before=$(cksum <bad.pool)
msg="udax: bad.pool: superblock: checksum mismatch; backup: checksum mismatch"
expect 1 "" "$msg" -- info bad.pool
expect 1 "" "$msg" -- info --json bad.pool
expect 1 "" "$msg" -- ls bad.pool
expect 1 "" "$msg" -- tree bad.pool
expect 1 "" "$msg" -- stat bad.pool:/
expect 1 "" "$msg" -- map bad.pool:/x
expect 1 "" "$msg" -- mkdir bad.pool:/x
expect 1 "" "$msg" -- rm bad.pool:/x
expect 1 "" "$msg" -- mv bad.pool:/x bad.pool:/y
expect 1 "" "$msg" -- cp small bad.pool:/x
expect 8 "" "$msg" -- fsck bad.pool
expect 8 "" "$msg" -- fsck --repair bad.pool
[ "$(cksum <bad.pool)" = "$sum_before" ] || bad "a command changed the corrupt pool"

# a pool whose both superblocks are gone: fsck cannot check it, nothing is written
dd if=/dev/zero of=p.pool bs=4096 count=2 conv=notrunc 2>/dev/null
cp p.pool before.pool
expect 8 "" "udax: p.pool: superblock: bad magic (not a udaxfs pool?); backup: bad magic (not a udaxfs pool?)" -- fsck --repair p.pool
cmp -s p.pool before.pool || bad "fsck --repair changed a pool it could not check"
expect 1 "" "udax: p.pool: superblock: bad magic (not a udaxfs pool?); backup: bad magic (not a udaxfs pool?)" -- cp p.pool:/sample copy4
cmp -s p.pool before.pool || bad "cp changed a pool it could not mount"

### no such pool
expect 1 "" "udax: missing.pool: No such file or directory" -- info missing.pool
expect 1 "" "udax: missing.pool: No such file or directory" -- ls missing.pool:/d
expect 1 "" "udax: missing.pool: No such file or directory" -- mkdir missing.pool:/d
[ -e missing.pool ] && bad "a command created missing.pool"

### every subcommand has --help on stdout with exit 0 and documents its exit codes
for cmd in media mkfs fsck info ls tree stat map cp rm mv mkdir demo bench; do
	"$udax" "$cmd" --help >help.txt 2>help_err.txt
	rc=$?
	[ "$rc" -eq 0 ] || bad "udax $cmd --help: exit $rc"
	[ -s help_err.txt ] && bad "udax $cmd --help wrote to stderr"
	head -n 1 help.txt | grep -q "^usage: udax $cmd" || bad "udax $cmd --help: no usage line"
	grep -q "exit: 0" help.txt || bad "udax $cmd --help: exit codes not documented"
done

### the command itself
expect 2 "" "udax: unknown command \"frobnicate\"
usage: udax COMMAND [ARGS]   (udax COMMAND --help for details)
  media  classify a media backing (device-DAX, file, tmpfs, hugetlbfs, memfd)
  mkfs   create an empty udaxfs on a pool
  fsck   check (and repair) an unmounted pool
  info   superblock, backing, usage and free-space shape of a pool
  ls     list a directory of a pool (POOL[:PATH])
  tree   show a pool's directory tree (POOL[:DIR])
  stat   show a file's attributes (POOL:PATH)
  map    show a file's extents and its PMD-eligible 2 MiB ranges
  cp     copy a file into or out of a pool (POOL:PATH)
  rm     remove a file or, with -r, a directory tree (POOL:PATH)
  mv     rename inside a pool (POOL:SRC POOL:DST)
  mkdir  create a directory (POOL:PATH)
  demo   the DAX story end to end on a pool it makes and removes
  bench  udax against the kernel on the same backing, with fault and writeback counters
exit: 0 success, 1 failure, 2 usage error (fsck: as e2fsck)" -- frobnicate

echo "$failures failures"
[ "$failures" -eq 0 ]
