#!/usr/bin/env bash
# udax's main job on an embedded default: builds udax, creates pools on every
# backing this machine offers without real pmem, shows what udax makes of each
# one (kind, PMD capability, persistence method and why), then puts a udaxfs on
# the default pool, copies a file in and out through it and checks the pool.
# Cleans up everything it creates, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" --target udax_tool >/dev/null
udax=build/demo/tools/udax

work=$(mktemp -d /tmp/udax-demo.XXXXXX)
huge_mnt=""
cleanup() {
	[ -n "$huge_mnt" ] && umount "$huge_mnt" 2>/dev/null
	rm -rf "$work" /dev/shm/udax-demo-$$.pool
}
trap cleanup EXIT INT TERM

show() { # title path [options]
	echo
	echo "== $1 =="
	"$udax" media --create 64M "${@:3}" "$2"
}

show "plain file (page-cache backing)" "$work/pool"
show "tmpfs file (/dev/shm, volatile)" /dev/shm/udax-demo-$$.pool
show "plain file, forced cache-line flush (the test mode)" "$work/pool" --force-flush
if [ "$(id -u)" -eq 0 ]; then
	huge_mnt="$work/huge"
	mkdir -p "$huge_mnt"
	if mount -t tmpfs -o huge=always,size=256m udax-demo "$huge_mnt" 2>/dev/null; then
		show "huge=always tmpfs (2 MiB pages)" "$huge_mnt/pool"
	else
		huge_mnt=""
		echo "(huge=always tmpfs: mount refused, skipped)"
	fi
else
	echo "(huge=always tmpfs: needs root, skipped)"
fi

# The default pool: huge=always tmpfs when we could mount it, else the plain file.
pool=${huge_mnt:+$huge_mnt/fs.pool}
pool=${pool:-$work/fs.pool}
echo
echo "== udaxfs on $pool =="
"$udax" mkfs --size 64M "$pool"
"$udax" cp README.md "$pool:/README.md"
"$udax" cp "$pool:/README.md" "$work/README.out"
if cmp -s README.md "$work/README.out"; then
	echo "README.md copied into the pool and back: identical ($(wc -c <README.md) bytes)"
else
	echo "README.md came back different" >&2
	exit 1
fi
"$udax" fsck "$pool"
