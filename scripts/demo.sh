#!/usr/bin/env bash
# udax's main job on an embedded default: builds udax and runs `udax demo`, the
# DAX story end to end on a pool it creates (a huge=always tmpfs as root, else a
# plain file) and removes: mkfs, a file written and mapped with PMDs, a hole,
# a MAP_SYNC store surviving a simulated power loss, fsync of only the dirty
# entries, a truncate waiting for a pinned page, a device-DAX region
# (docs/man/udax-demo.md). Arguments go to `udax demo` (--json, --dir DIR).
# Then, unless --json, how udax classifies the other backings this machine
# offers without real pmem. Exits non-zero if any step's check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" --target udax_tool >/dev/null
udax=build/demo/tools/udax

"$udax" demo "$@"
[[ " $* " == *" --json "* ]] && exit 0

# The classification of two more backings: one line each of what `udax media` says.
work=$(mktemp -d /tmp/udax-demo-media.XXXXXX)
shm=/dev/shm/udax-demo-media-$$.pool
trap 'rm -rf "$work" "$shm"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo
echo "other backings here (udax media):"
for pool in "$work/pool" "$shm"; do
	"$udax" media --create 8M "$pool" |
		awk -v p="$pool" '{ v[$1] = $0 } END {
			sub(/^reason +/, "", v["reason"]); sub(/^kind +/, "", v["kind"])
			printf "  %-40s %s: %s\n", p, v["kind"], v["reason"] }'
done
