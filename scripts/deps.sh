#!/usr/bin/env bash
# Installs the Debian packages udax builds, tests and benchmarks with, when missing.
set -euo pipefail
pkgs=(cmake make gcc libc6-dev pkg-config spin libpmem2-dev util-linux e2fsprogs fio sqlite3 xfsprogs
	libpmemobj-dev pmdk-tools rocksdb-tools)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "udax: missing packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "udax: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
