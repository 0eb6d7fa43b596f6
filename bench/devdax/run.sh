#!/bin/bash
# Runs devdax_bench on every backing this machine can give (root): a /dev/shm
# file, a huge=always tmpfs, hugetlbfs with 2 MiB and with 1 GiB pages.
# Mounts and huge page reservations are undone on every exit.
# usage: bench/devdax/run.sh BUILD_DIR [SIZE]     (SIZE: default 4G)
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [SIZE]}
size=${2:-4G}
bin=$build/bench/devdax/devdax_bench
bytes=$(numfmt --from=iec "$size")
work=$(mktemp -d /tmp/udax-devdax-bench.XXXXXX)
nr2m=/proc/sys/vm/nr_hugepages
nr1g=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages
old2m=$(cat $nr2m)
old1g=$(cat $nr1g 2>/dev/null || echo)
added2m=0
added1g=0
# Gives back what this script added (not the old value: a test running at the
# same time may have changed the pool meanwhile).
give_back() {
	local now
	now=$(cat "$1")
	echo $((now > $2 ? now - $2 : 0)) >"$1"
}
cleanup() {
	for m in "$work"/*; do if mountpoint -q "$m"; then umount "$m"; fi; done
	give_back $nr2m $added2m
	if [ -n "$old1g" ]; then give_back $nr1g $added1g; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM HUP
dirs=("$work/shm")
mkdir -p "$work/shm" "$work/huge" "$work/h2m" "$work/h1g"
mount -t tmpfs -o size=$((bytes + (64 << 20))) tmpfs "$work/shm"
mount -t tmpfs -o huge=always,size=$((bytes + (64 << 20))) tmpfs "$work/huge" && dirs+=("$work/huge")
# 1 GiB pages first: they need contiguous memory that 2 MiB pages would split
if [ -n "$old1g" ]; then
	added1g=$((bytes / (1 << 30)))
	echo $((old1g + added1g)) >$nr1g
	if [ "$(cat $nr1g)" -ge $((old1g + bytes / (1 << 30))) ] &&
		mount -t hugetlbfs -o pagesize=1G none "$work/h1g"; then
		dirs+=("$work/h1g")
	else
		echo "# hugetlbfs 1G: could not reserve $((bytes / (1 << 30))) pages"
	fi
fi
added2m=$((bytes / (2 << 20)))
echo $((old2m + added2m)) >$nr2m
if [ "$(cat $nr2m)" -ge $((old2m + bytes / (2 << 20))) ] &&
	mount -t hugetlbfs -o pagesize=2M none "$work/h2m"; then
	dirs+=("$work/h2m")
else
	echo "# hugetlbfs 2M: could not reserve $((bytes / (2 << 20))) pages"
fi
"$bin" -s "$size" "${dirs[@]}"
