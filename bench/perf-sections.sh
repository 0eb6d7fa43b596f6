#!/bin/sh
# perf-sections.sh OUT.data COMMAND [ARGS...]
# Records a call-graph profile of COMMAND's profile sections only (bench_profile
# in bench_util.h): perf starts disabled and COMMAND switches it on and off
# around the operation it measures. Read the result with
#   perf report -i OUT.data --no-children
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT.data COMMAND [ARGS...]" >&2; exit 2; }
out=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
mkfifo "$dir/ctl" "$dir/ack"
BENCH_PERF_CTL=$dir/ctl BENCH_PERF_ACK=$dir/ack \
	perf record -g -D -1 --control="fifo:$dir/ctl,$dir/ack" -o "$out" -- "$@"
