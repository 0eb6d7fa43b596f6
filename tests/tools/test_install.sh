#!/bin/sh
# usage: test_install.sh CMAKE BUILDDIR SRCDIR [EXTRA_CFLAGS]
# Installs the build into a temporary prefix and uses it as a user would:
# the examples built with `cc $(pkg-config --cflags --libs udax)` against the
# shared library (and once against libudax.a) and run; libudax.so exports
# exactly the functions the public headers declare; the installed udax runs.
set -u
cmake=$1 build=$2 src=$3 extra=${4:-}
dir=$(mktemp -d "${TMPDIR:-/tmp}/udax-install-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
prefix=$dir/prefix
failures=0

bad() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

command -v pkg-config >/dev/null || { echo "skip: pkg-config is not installed"; exit 77; }
command -v cc >/dev/null || { echo "skip: no cc"; exit 77; }

"$cmake" --install "$build" --prefix "$prefix" >"$dir/install.log" 2>&1 || {
	cat "$dir/install.log"
	echo "FAIL: cmake --install"
	exit 1
}
libdir=$(dirname "$(find "$prefix" -name udax.pc | head -n 1)")/..
for f in bin/udax include/udax.h share/doc/udax/getting-started.md \
	share/doc/udax/man/udax-info.md share/doc/udax/examples/map_file.c; do
	[ -e "$prefix/$f" ] || bad "$f is not installed"
done
for f in udax.pc; do
	[ -e "$libdir/pkgconfig/$f" ] || bad "$f is not installed"
done
[ -e "$libdir/libudax.so" ] || bad "libudax.so is not installed"
[ -e "$libdir/libudax.a" ] || bad "libudax.a is not installed"

# the installed tree is self-contained: nothing in it points back at the build
export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --modversion udax)" = "$(sed -n 's/^project(udax VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" ] ||
	bad "pkg-config --modversion udax: $(pkg-config --modversion udax 2>&1)"
cflags=$(pkg-config --cflags udax) libs=$(pkg-config --libs udax)
case "$cflags $libs" in
*"$build"* | *"$src"*) bad "udax.pc points into the build or source tree: $cflags $libs" ;;
esac

# exported symbols: the header's functions, nothing else (no internal helper)
nm -D --defined-only "$libdir/libudax.so" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort >"$dir/exported.txt"
cat "$prefix"/include/*.h | sed -n 's/^[a-z][^(]*[ *]\(udax_[a-z0-9_]*\)(.*/\1/p' | sort -u >"$dir/declared.txt"
cmp -s "$dir/exported.txt" "$dir/declared.txt" || {
	bad "libudax.so exports other symbols than the headers declare:"
	diff "$dir/declared.txt" "$dir/exported.txt"
}
grep -qx udax_err "$dir/exported.txt" && bad "the internal udax_err is exported"

# examples against the shared library, from a copy outside the source tree
cp "$prefix"/share/doc/udax/examples/*.c "$dir/"
for ex in map_file copy_in_out sync_log pin_copy; do
	# shellcheck disable=SC2086 # word splitting of flags is intended
	cc -std=c11 -Wall -Wextra -Werror $extra -o "$dir/$ex" "$dir/$ex.c" $cflags $libs \
		-Wl,-rpath,"$libdir" 2>"$dir/cc.log" || {
		cat "$dir/cc.log"
		bad "$ex does not build against the installed library"
	}
done
ldd "$dir/map_file" | grep -q "$libdir/libudax.so" || bad "map_file does not use the installed libudax.so"
out=$("$dir/map_file" "$dir/a.pool") || bad "map_file failed: $out"
echo "$out" | grep -q "^4 MiB stored through the mapping and read back$" || bad "map_file printed: $out"
yes 'copy me in and out' | head -c 3000001 >"$dir/host.txt"
out=$("$dir/copy_in_out" "$dir/b.pool" "$dir/host.txt") || bad "copy_in_out failed: $out"
[ "$out" = "3000001 bytes copied in and read back after a remount" ] || bad "copy_in_out printed: $out"
out=$("$dir/sync_log" "$dir/d.pool" 1000) || bad "sync_log failed: $out"
[ "$out" = "1000 records appended with MAP_SYNC, 1000 valid on reread" ] || bad "sync_log printed: $out"
out=$("$dir/pin_copy" "$dir/e.pool") || bad "pin_copy failed: $out"
[ "$out" = "device wrote 16 pinned pages: ok; the truncate waited for the device" ] ||
	bad "pin_copy printed: $out"

# the same example linked statically against libudax.a
# shellcheck disable=SC2086
cc -std=c11 $extra -o "$dir/map_file_static" "$dir/map_file.c" $cflags "$libdir/libudax.a" \
	$(pkg-config --static --libs-only-other --libs-only-l udax | sed 's/-ludax//') 2>"$dir/cc.log" || {
	cat "$dir/cc.log"
	bad "map_file does not link against libudax.a"
}
ldd "$dir/map_file_static" 2>/dev/null | grep -q libudax && bad "map_file_static uses libudax.so"
"$dir/map_file_static" "$dir/c.pool" >/dev/null || bad "map_file_static failed"

# the installed command finds nothing of the build either
"$prefix/bin/udax" info "$dir/a.pool" >"$dir/info.txt" 2>&1 || { cat "$dir/info.txt"; bad "installed udax info"; }

echo "$failures failures"
[ "$failures" -eq 0 ]
