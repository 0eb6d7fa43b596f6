#!/bin/sh
# run_shim.sh UDAX_TOOL SHIM PROGRAM [ARGS...]
# Runs PROGRAM under the LD_PRELOAD shim with a fresh 64 MiB pool (on /dev/shm
# when it is there: a pool on a disk-backed file pays an msync per write) at a
# private prefix (UDAX_PREFIX, which does not exist in the real file system),
# then checks the pool with "udax fsck". Exit: PROGRAM's status (77: skipped),
# or 1 if the pool is inconsistent afterwards.
# UDAX_SHIM_PRELOAD_FIRST (optional) is preloaded before the shim: a sanitizer
# build's shim needs its runtime (libasan, libtsan) first.
set -u
tool=$1
shim=$2
shift 2
base=${TMPDIR:-/tmp}
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	base=/dev/shm
fi
dir=$(mktemp -d "$base/udax-shim.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
"$tool" mkfs --size 64M "$dir/pool" >/dev/null || exit 1
preload=$shim
if [ -n "${UDAX_SHIM_PRELOAD_FIRST:-}" ]; then
	preload="$UDAX_SHIM_PRELOAD_FIRST:$shim"
fi
LD_PRELOAD=$preload UDAX_POOL=$dir/pool UDAX_PREFIX=/udax-shim-test-$$ "$@"
rc=$?
if [ $rc -ne 0 ]; then
	exit $rc
fi
if ! "$tool" fsck "$dir/pool"; then
	echo "run_shim.sh: the pool is inconsistent after $1" >&2
	exit 1
fi
exit 0
