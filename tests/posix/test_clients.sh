#!/bin/sh
# test_clients.sh UDAX_TOOL SHIM CLIENT [PMEMOBJ_TX]
# Runs a real client (fio, sqlite3, xfs_io, coreutils, libpmemobj, db_bench,
# from Debian packages) under the LD_PRELOAD shim on a fresh pool and, with the
# same shim loaded, on a tmpfs directory, then compares what both produced and
# checks the pool with "udax fsck". PMEMOBJ_TX: the pmemobj_tx program (empty
# when libpmemobj was not found). Exit 0: pass, 77: skipped (the reason is
# printed), else fail.
set -u
tool=$1
shim=$2
client=$3
pmemobj_tx=${4:-}

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
"$tool" mkfs --size 192M "$work/pool" >/dev/null || fail "mkfs"

# Every client process mounts the pool itself (one mounter at a time).
shim() {
	LD_PRELOAD=$preload UDAX_POOL=$work/pool UDAX_PREFIX=$prefix "$@"
}

# ---- fio: data verified with crc32c by fio itself -------------------------
# fio_job DIR ENGINE RW [ARGS]: prints "error read_kb write_kb" of the terse output.
fio_job() {
	d=$1 e=$2 rw=$3
	shift 3
	shim fio --name=job --directory="$d" --ioengine="$e" --rw="$rw" --size=16m --bs=4k \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --thread --numjobs=2 \
		--group_reporting --randrepeat=1 --minimal "$@" 2>"$work/fio.err" |
		awk -F';' '{print $5, $6, $47}'
}

# fio_both ENGINE RW [ARGS]: the job on udax and on tmpfs; both must succeed alike.
fio_both() {
	u=$(fio_job "$prefix/fio" "$@")
	t=$(fio_job "$tmpfs" "$@")
	echo "fio $*: udax [$u] tmpfs [$t]"
	case $u in
	"0 "*) ;;
	*) cat "$work/fio.err" >&2; fail "fio $* on udax" ;;
	esac
	[ "$u" = "$t" ] || fail "fio $*: udax and tmpfs differ"
}

# fio_engine ENGINE RW...: each job, and after the write-only ones a second
# process that re-reads the files with psync (after a fresh mount) and checks
# every block's crc32c (--verify_only): stores through mappings reached the file.
fio_engine() {
	engine=$1
	shift
	for rw in "$@"; do
		fio_both "$engine" "$rw"
		case $rw in
		write | randwrite) fio_both psync "$rw" --verify_only ;;
		esac
		rm -f "$tmpfs"/job.*
	done
}

run_fio() {
	need fio
	shim mkdir "$prefix/fio" || fail "mkdir under the prefix"
	fio_engine psync randwrite write
	fio_engine pvsync2 randrw randwrite
	fio_engine mmap write randrw
}

# libpmem maps the whole file and copies with its own stores and flushes. It
# refuses a file it does not see as pmem: MAP_SYNC is its test, and where the
# mapping refuses MAP_SYNC (tmpfs, and udax without synchronous faults)
# PMEM_IS_PMEM_FORCE=1 says the mapping is pmem all the same.
run_fio_libpmem() {
	need fio
	fio --enghelp 2>/dev/null | grep -qw libpmem || skip "this fio has no libpmem engine"
	shim mkdir "$prefix/fio" || fail "mkdir under the prefix"
	export PMEM_IS_PMEM_FORCE=1
	fio_engine libpmem write randwrite randrw
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

# ---- xfs_io on mappings: the kernel's tmpfs is the reference ----------------
# xio_mapped FILE: writes FILE, maps it, stores through the mapping, syncs,
# punches a hole under the mapping, stores into the hole, grows the file and
# the mapping; prints what it read back through the mapping and with pread.
xio_mapped() {
	shim xfs_io -f -c "pwrite -q -i $work/rnd 0 2m" -c "mmap -rw 0 2m" -c "mread -v 0 64k" \
		-c "mwrite -S 0x61 4000 10000" -c "msync -s 0 2m" -c "pread -q -v 3990 10020" \
		-c "fpunch 128k 64k" -c "mread -v 120k 80k" -c "mwrite -S 0x62 150k 4k" \
		-c "msync -i -s" -c "mread -v 120k 80k" -c "truncate 3m" -c "mremap -m 3m" \
		-c "mwrite -S 0x63 2m 1m" -c "msync -s" -c "mread -v 2044k 8k" -c "munmap" "$1"
}

# The MAP_SHARED_VALIDATE|MAP_SYNC probe (xfs_io mmap -S), read-write and
# read-only: the kernel refuses both with EOPNOTSUPP where it cannot keep the
# promise (tmpfs) and grants both on DAX. udax must do one or the other.
map_sync_probe() {
	shim xfs_io -c "mmap -S -rw 0 2m" -c "mmap -S -r 0 2m" "$1" 2>&1
}

# Stores through a MAP_SYNC mapping need no msync: a new process must see them.
map_sync_data() {
	t=$(map_sync_probe "$tmpfs/xm")
	[ "$t" = "$(printf 'mmap: Operation not supported\nmmap: Operation not supported')" ] ||
		fail "tmpfs answered the MAP_SYNC probe with [$t]"
	u=$(map_sync_probe "$prefix/xm")
	if [ -z "$u" ]; then
		echo "xfs_io: udax grants MAP_SYNC"
		shim xfs_io -c "mmap -S -rw 0 2m" -c "mwrite -S 0x71 8k 8k" -c "munmap" \
			"$prefix/xm" || fail "xfs_io MAP_SYNC stores"
	elif [ "$u" = "$t" ]; then
		echo "xfs_io: udax refuses MAP_SYNC (EOPNOTSUPP), as tmpfs"
		shim xfs_io -c "mmap -rw 0 2m" -c "mwrite -S 0x71 8k 8k" -c "msync -s" -c "munmap" \
			"$prefix/xm" || fail "xfs_io stores"
	else
		fail "udax answered the MAP_SYNC probe with [$u]"
	fi
	shim xfs_io -c "mmap -rw 0 2m" -c "mwrite -S 0x71 8k 8k" -c "msync -s" -c "munmap" \
		"$tmpfs/xm" || fail "xfs_io stores on tmpfs"
	shim cmp "$prefix/xm" "$tmpfs/xm" || fail "xfs_io: stores through MAP_SYNC differ"
}

# fzero and fcollapse (which tmpfs lacks) under a live mapping, checked against
# a model made on tmpfs: zeros written, the range cut out with head and tail.
mapped_layout_ops() {
	shim xfs_io -c "mmap -rw 0 3m" -c "fzero 64k 8k" -c "mread -v 60k 16k" \
		-c "fcollapse 256k 128k" -c "mread -v 200k 200k" -c "mread -v 2936k 8k" \
		-c "fiemap" -c "munmap" "$prefix/xm" >"$work/xm2.udax" || fail "xfs_io fzero/fcollapse"
	shim xfs_io -c "pwrite -q -S 0 64k 8k" "$tmpfs/xm" || fail "xfs_io model"
	{ head -c 262144 "$tmpfs/xm" && tail -c +393217 "$tmpfs/xm"; } >"$tmpfs/xm.model"
	shim xfs_io -c "mmap -r 0 3m" -c "mread -v 60k 16k" -c "mread -v 200k 200k" \
		-c "mread -v 2936k 8k" -c "munmap" "$tmpfs/xm.model" >"$work/xm2.tmpfs" ||
		fail "xfs_io on the model"
	grep '^[0-9a-f]\{8\}:' "$work/xm2.udax" >"$work/xm2.udax.dump"
	[ "$(wc -l <"$work/xm2.udax.dump")" -eq 14336 ] || fail "xfs_io: mread output"
	cmp "$work/xm2.udax.dump" "$work/xm2.tmpfs" ||
		fail "xfs_io: data read through the mapping after fzero/fcollapse is wrong"
	shim cmp "$prefix/xm" "$tmpfs/xm.model" || fail "xfs_io: file after fzero/fcollapse"
	# the punched range [128k, 192k) is still a hole (sectors 256-383) but where written
	grep -q '\[256\.\.[0-9]*\]: *hole' "$work/xm2.udax" &&
		grep -q '\[[0-9]*\.\.383\]: *hole' "$work/xm2.udax" ||
		fail "xfs_io: fiemap of the mapped file: $(grep hole "$work/xm2.udax")"
}

run_xfs_io_mmap() {
	need xfsprogs
	head -c 2097152 /dev/urandom >"$work/rnd" || fail "random data"
	xio_mapped "$prefix/xm" >"$work/xm.udax" || fail "xfs_io mapped on udax"
	xio_mapped "$tmpfs/xm" >"$work/xm.tmpfs" || fail "xfs_io mapped on tmpfs"
	[ "$(wc -l <"$work/xm.tmpfs")" -gt 15000 ] || fail "xfs_io: short output on tmpfs"
	cmp "$work/xm.udax" "$work/xm.tmpfs" || fail "xfs_io: udax and tmpfs read back differently"
	shim cmp "$prefix/xm" "$tmpfs/xm" || fail "xfs_io: the files differ after the mapping ends"
	map_sync_data
	mapped_layout_ops
	echo "xfs_io: mmap/mwrite/mread/msync/mremap and fpunch as tmpfs; fzero/fcollapse/fiemap ok"
}

# ---- libpmemobj: transactions killed with SIGKILL, pmempool check ----------
# pmemobj_killed DIR SEED: a run killed inside a transaction the seed chooses;
# the pool must pass pmempool check and hold exactly the committed ones.
pmemobj_killed() {
	out=$(shim "$pmemobj_tx" run "$1/obj" "$2" 150 kill)
	rc=$?
	[ $rc -eq 137 ] || fail "pmemobj_tx run $2 on $1 ended with $rc, not SIGKILL: $out"
	k=${out#kill at tx }
	k=${k%% *}
	shim pmempool check "$1/obj" >"$work/pmempool.out" ||
		fail "pmempool check on $1 after kill at tx $k: $(cat "$work/pmempool.out")"
	st=$(shim "$pmemobj_tx" check "$1/obj") || fail "pool on $1 inconsistent after kill at tx $k"
	c=${st#counter }
	c=${c%% *}
	[ "$c" -eq $((count + k)) ] ||
		fail "pool on $1: counter $c after kill at tx $k, expected $((count + k))"
	count=$c
}

# pmemobj_shot DIR SEED: a run killed at a random instant (inside libpmemobj,
# the shim or udax as well); the pool must stay consistent and lose no commit.
pmemobj_shot() {
	LD_PRELOAD=$preload UDAX_POOL=$work/pool UDAX_PREFIX=$prefix "$pmemobj_tx" loop "$1/obj" \
		"$2" >"$work/loop.out" &
	pid=$!
	i=0
	until grep -q ready "$work/loop.out"; do
		i=$((i + 1))
		[ $i -lt 2000 ] && kill -0 $pid 2>/dev/null || fail "pmemobj_tx loop did not start"
		sleep 0.01
	done
	sleep "$(awk -v s="$2" 'BEGIN { srand(s); printf "%.3f", rand() * 0.08 }')"
	kill -9 $pid
	wait $pid
	[ $? -eq 137 ] || fail "pmemobj_tx loop on $1 ended before it was killed"
	shim pmempool check "$1/obj" >"$work/pmempool.out" ||
		fail "pmempool check on $1 after SIGKILL: $(cat "$work/pmempool.out")"
	st=$(shim "$pmemobj_tx" check "$1/obj") || fail "pool on $1 inconsistent after SIGKILL"
	c=${st#counter }
	c=${c%% *}
	[ "$c" -ge "$count" ] || fail "pool on $1 lost commits: counter $c < $count"
	count=$c
}

run_pmemobj() {
	[ -n "$pmemobj_tx" ] || skip "libpmemobj (libpmemobj-dev) was not found at configure time"
	need pmdk-tools
	seed=${UDAX_TEST_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
	echo "pmemobj: seed $seed (UDAX_TEST_SEED=$seed replays the kill points)"
	for d in "$prefix" "$tmpfs"; do
		shim "$pmemobj_tx" create "$d/obj" || fail "pmemobj_tx create on $d"
		count=0
		for i in 1 2 3 4 5 6; do
			pmemobj_killed "$d" $((seed + i))
		done
		st=$(shim "$pmemobj_tx" run "$d/obj" "$seed" 100) || fail "pmemobj_tx run on $d"
		echo "pmemobj on $d after 6 kills and 100 more transactions: $st"
		if [ "$d" = "$prefix" ]; then
			su=$st
		else
			[ "$st" = "$su" ] || fail "pmemobj: udax and tmpfs pools differ: [$su] [$st]"
		fi
		count=${st#counter }
		count=${count%% *}
		for i in 1 2 3; do
			pmemobj_shot "$d" $((seed + 10 + i))
		done
		echo "pmemobj on $d after 3 kills at random instants: counter $count"
	done
}

# ---- RocksDB db_bench: synchronous writes, then its own checks -------------
# db_run DIR ARGS: db_bench with small memtables and files (flushes and
# compactions happen); prints its "N of N found" and fails on any error.
db_run() {
	d=$1
	shift
	out=$(shim db_bench --db="$d" --num=50000 --seed=1 --compression_type=none \
		--write_buffer_size=262144 --target_file_size_base=262144 \
		--max_bytes_for_level_base=1048576 --verify_checksum=1 "$@" 2>"$work/db.err") ||
		{ cat "$work/db.err" >&2; fail "db_bench $* on $d"; }
	! grep -qi -e error -e corrupt "$work/db.err" || { cat "$work/db.err" >&2; fail "db_bench $*"; }
	echo "$out" | grep -q '^verifychecksum' || fail "db_bench did not verify checksums"
	echo "$out" | sed -n 's/^readrandom.*(\([0-9]* of [0-9]*\) found).*/\1/p'
}

run_db_bench() {
	need rocksdb-tools
	case ${UDAX_SHIM_PRELOAD_FIRST:-} in
	*tsan*) # librocksdb is not instrumented: TSan does not see its own synchronization
		echo "race:librocksdb.so" >"$work/tsan.supp"
		export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$work/tsan.supp"
		;;
	esac
	for m in 0 1; do # SST files read with pread, then through mappings
		for d in "$prefix" "$tmpfs"; do
			f=$(db_run "$d/db$m" --benchmarks=fillseq,readrandom,verifychecksum --sync=1 \
				--mmap_read=$m) || exit 1
			[ "$f" = "50000 of 50000" ] || fail "db_bench on $d (mmap_read=$m) found $f"
			# a second process: recovery from the files, every key found again
			f=$(db_run "$d/db$m" --use_existing_db=1 --benchmarks=readrandom,verifychecksum \
				--mmap_read=$m) || exit 1
			[ "$f" = "50000 of 50000" ] || fail "db_bench reopened on $d found $f"
		done
		echo "db_bench mmap_read=$m: fillseq --sync=1, readrandom, verifychecksum, reopen: ok"
	done
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
xfs_io_mmap) run_xfs_io_mmap ;;
fio_libpmem) run_fio_libpmem ;;
pmemobj) run_pmemobj ;;
db_bench) run_db_bench ;;
coreutils) run_coreutils ;;
*) fail "unknown client $client" ;;
esac
"$tool" fsck "$work/pool" >/dev/null || fail "udax fsck after $client"
echo "pass"
