#!/bin/sh
# test_clients.sh UDAX_TOOL SHIM CLIENT
# Runs a real client (fio, sqlite3 or xfs_io, from Debian packages) under the
# LD_PRELOAD shim on a fresh pool and, with the same shim loaded, on a tmpfs
# directory, then compares what both produced and checks the pool with
# "udax fsck". Exit 0: pass, 77: skipped (the reason is printed), else fail.
set -u
tool=$1
shim=$2
client=$3

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
need() {
	dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q "ok installed" ||
		skip "package $1 is not installed"
}

# UDAX_SHIM_PRELOAD_FIRST: preloaded before the shim (a sanitizer build's shim
# needs its runtime first; the clients' own leaks at exit are not ours to report).
preload=$shim
if [ -n "${UDAX_SHIM_PRELOAD_FIRST:-}" ]; then
	preload="$UDAX_SHIM_PRELOAD_FIRST:$shim"
	# appended: the last occurrence of an option wins
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
# The pool lives on tmpfs too: on a disk-backed file every write pays an msync.
work=$(mktemp -d /dev/shm/udax-pool.XXXXXX) || skip "no tmpfs at /dev/shm"
tmpfs=$(mktemp -d /dev/shm/udax-clients.XXXXXX) || exit 1
trap 'rm -rf "$work" "$tmpfs"' EXIT
[ "$(stat -f -c %T "$tmpfs")" = tmpfs ] || skip "/dev/shm is not tmpfs"
# clients leave state files in their working directory (fio's verify state)
mkdir "$work/cwd" && cd "$work/cwd" || fail "cd"
prefix=/udax-client-$$
"$tool" mkfs --size 160M "$work/pool" >/dev/null || fail "mkfs"

# Every client process mounts the pool itself (one mounter at a time).
shim() {
	LD_PRELOAD=$preload UDAX_POOL=$work/pool UDAX_PREFIX=$prefix "$@"
}

# ---- fio: data verified with crc32c by fio itself -------------------------
# fio_job DIR ENGINE RW: prints "error read_kb write_kb" of the terse output.
fio_job() {
	shim fio --name=job --directory="$1" --ioengine="$2" --rw="$3" --size=16m --bs=4k \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --thread --numjobs=2 \
		--group_reporting --randrepeat=1 --minimal 2>"$work/fio.err" |
		awk -F';' '{print $5, $6, $47}'
}

run_fio() {
	need fio
	shim mkdir "$prefix/fio" || fail "mkdir under the prefix"
	for spec in psync:randwrite psync:write pvsync2:randrw pvsync2:randwrite mmap:write \
		mmap:randrw; do
		engine=${spec%%:*}
		rw=${spec#*:}
		u=$(fio_job "$prefix/fio" "$engine" "$rw")
		t=$(fio_job "$tmpfs" "$engine" "$rw")
		echo "fio $engine $rw: udax [$u] tmpfs [$t]"
		case $u in
		"0 "*) ;;
		*) cat "$work/fio.err" >&2; fail "fio $engine $rw on udax" ;;
		esac
		[ "$u" = "$t" ] || fail "fio $engine $rw: udax and tmpfs differ"
		rm -f "$tmpfs"/job.*
	done
}

# ---- sqlite3: WAL with exclusive locking, integrity_check ----------------
SQL="PRAGMA locking_mode=EXCLUSIVE;
PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<20000)
 INSERT INTO t SELECT x, 'row'||x, zeroblob(100 + x % 300) FROM c;
COMMIT;
CREATE INDEX iv ON t(v);
DELETE FROM t WHERE id % 7 = 0;
UPDATE t SET v = v || '!' WHERE id % 3 = 0;
PRAGMA integrity_check;
SELECT count(*), sum(id), sum(length(b)), sum(length(v)) FROM t;"
SHM="PRAGMA journal_mode=WAL;
CREATE TABLE x(a INTEGER, s TEXT);
WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n<5000)
 INSERT INTO x SELECT n, hex(randomblob(20)) FROM c;
DELETE FROM x WHERE a % 5 = 0;
PRAGMA wal_checkpoint;
PRAGMA integrity_check;
SELECT count(*), sum(a), sum(length(s)) FROM x;"
CHECK="PRAGMA locking_mode=EXCLUSIVE;
PRAGMA integrity_check;
SELECT count(*), sum(id), sum(length(b)), sum(length(v)) FROM t;"

run_sqlite() {
	need sqlite3
	u=$(echo "$SQL" | shim sqlite3 "$prefix/db.sqlite") || fail "sqlite3 on udax"
	t=$(echo "$SQL" | shim sqlite3 "$tmpfs/db.sqlite") || fail "sqlite3 on tmpfs"
	echo "sqlite3 udax: $(echo $u)"
	[ "$u" = "$t" ] || fail "sqlite3: udax and tmpfs differ: [$t]"
	echo "$u" | grep -qx ok || fail "sqlite3: integrity_check"
	echo "$u" | grep -qx "17143|171431429|[0-9]*|[0-9]*" || fail "sqlite3: row count"
	# a second process reopens the database (WAL recovery) and checks again
	u2=$(echo "$CHECK" | shim sqlite3 "$prefix/db.sqlite") || fail "sqlite3 reopen"
	[ "$(echo "$u2" | tail -2)" = "$(echo "$u" | tail -2)" ] || fail "sqlite3 reopen: [$u2]"
	# shared-memory WAL: every connection maps the -shm file
	u=$(echo "$SHM" | shim sqlite3 "$prefix/wal.sqlite") || fail "sqlite3 WAL with -shm on udax"
	t=$(echo "$SHM" | shim sqlite3 "$tmpfs/wal.sqlite") || fail "sqlite3 WAL with -shm on tmpfs"
	echo "sqlite3 shared-memory WAL udax: $(echo $u)"
	[ "$u" = "$t" ] || fail "sqlite3 shared-memory WAL: udax and tmpfs differ: [$t]"
	echo "$u" | grep -qx ok || fail "sqlite3 shared-memory WAL: integrity_check"
}

# ---- xfs_io: the same commands on udax and tmpfs give the same file ------
run_xfs_io() {
	need xfsprogs
	for d in "$prefix" "$tmpfs"; do
		shim xfs_io -f -c "pwrite -S 0xab -b 64k 0 1m" -c "pwrite -V 3 -S 0xcd 1020k 12k" \
			-c "pwrite -S 0x11 3000 5000" -c "falloc -k 2m 1m" -c "fpunch 8k 12k" \
			-c "truncate 1500k" -c "fsync" -c "fdatasync" "$d/xio" >/dev/null ||
			fail "xfs_io on $d"
	done
	shim cmp "$prefix/xio" "$tmpfs/xio" || fail "xfs_io: udax and tmpfs files differ"
	[ "$(shim stat -c %s "$prefix/xio")" = 1536000 ] || fail "xfs_io: size"
	# udax-only operations (tmpfs lacks them): collapse, insert, zero range, fiemap
	out=$(shim xfs_io -c "fzero 0 4k" -c "fcollapse 512k 128k" -c "finsert 0 64k" \
		-c "pread -v 65536 16" -c "stat" -c "fiemap" "$prefix/xio") || fail "xfs_io udax ops"
	echo "$out" | grep -q "stat.size = 1470464" || fail "xfs_io: size after collapse/insert"
	echo "$out" | grep -q "^00010000:  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" ||
		fail "xfs_io: zeroed range"
	echo "$out" | grep -q "hole" || fail "xfs_io: fiemap shows no hole"
	echo "xfs_io: same file on udax and tmpfs; collapse/insert/zero/fiemap ok"
}

# ---- coreutils: copies in and out, checksums, renames, listings ------------
run_coreutils() {
	need coreutils
	src=/usr/share/common-licenses
	[ -d $src ] || skip "no $src to copy"
	names=$(cd $src && ls)
	shim cp -rL "$src" "$prefix/lic" || fail "cp -rL into udax"
	shim cp -rL "$src" "$tmpfs/lic" || fail "cp -rL into tmpfs"
	[ "$(shim ls "$prefix/lic")" = "$names" ] || fail "ls of the copied tree"
	for d in "$prefix" "$tmpfs"; do
		(cd $src && for f in $names; do echo "$d/lic/$f"; done) |
			shim xargs sha256sum | sed "s| $d/lic/| |" >"$work/sums.${d##*/}" ||
			fail "sha256sum in $d"
	done
	[ "$(wc -l <"$work/sums.${prefix##*/}")" -eq "$(echo "$names" | wc -l)" ] ||
		fail "sha256sum did not read every file"
	cmp "$work/sums.${prefix##*/}" "$work/sums.${tmpfs##*/}" || fail "checksums differ"
	shim dd if=/dev/urandom of="$prefix/rand" bs=64k count=64 oflag=direct conv=fsync \
		status=none || fail "dd oflag=direct"
	shim dd if="$prefix/rand" of="$work/rand.out" bs=100k iflag=direct status=none ||
		fail "dd iflag=direct"
	shim cmp "$prefix/rand" "$work/rand.out" || fail "dd round trip"
	shim mv "$prefix/rand" "$prefix/lic/rand2" || fail "mv"
	shim rm -r "$prefix/lic" || fail "rm -r"
	[ -z "$(shim ls -A "$prefix")" ] || fail "directory not empty after rm -r"
	echo "coreutils: cp -rL, ls, sha256sum (as on tmpfs), dd O_DIRECT, mv, rm -r ok"
}

case $client in
fio) run_fio ;;
sqlite3) run_sqlite ;;
xfs_io) run_xfs_io ;;
coreutils) run_coreutils ;;
*) fail "unknown client $client" ;;
esac
"$tool" fsck "$work/pool" >/dev/null || fail "udax fsck after $client"
echo "pass"
