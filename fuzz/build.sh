#!/bin/bash -eu
# SPDX-License-Identifier: MIT
#
# Build the simmm fuzz harnesses the OSS-Fuzz / ClusterFuzzLite way:
#
#   CC=clang CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only \
#     -fsanitize=address,fuzzer-no-link" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
#     OUT=/tmp/out fuzz/build.sh
#
# Honours $CC, $CFLAGS (sanitizer + coverage flags chosen by the
# infrastructure), $LIB_FUZZING_ENGINE (the engine to link: -fsanitize=fuzzer,
# or an archive such as libFuzzingEngine.a for AFL++ / honggfuzz drivers) and
# $OUT. $SRC, $WORK and $CXX are not needed. The library sources (src/*/*.c)
# are compiled once with $CFLAGS into an archive in $WORK (or a temporary
# directory), the libc allocator (no jemalloc: it does not mix with the
# sanitizers), then each harness fuzz/<h>.c is linked with it into
# $OUT/<h>, with $OUT/<h>.dict, $OUT/<h>_seed_corpus.zip (fuzz/corpus/<h>)
# and $OUT/<h>.options (libFuzzer flags, see docs/fuzzing.md).
#
# $SIMMM_LIB_CFLAGS is added for the library sources only; by default, when
# $CFLAGS asks for libFuzzer coverage (fuzzer-no-link), it is
# -fno-sanitize-coverage=trace-cmp: edge coverage stays, the comparison
# hooks go (half of fuzz_mm_ops' cycles, see docs/fuzzing.md). Set it to
# an empty string to keep them.
#
# Run from anywhere: paths are relative to this script.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CC=${CC:-clang}
CFLAGS=${CFLAGS:--O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
OUT=${OUT:-$ROOT/build/oss-fuzz/out}
BUILD=${WORK:-$(mktemp -d)}/simmm-fuzz-build
case "$CFLAGS" in
*fuzzer-no-link*) SIMMM_LIB_CFLAGS=${SIMMM_LIB_CFLAGS--fno-sanitize-coverage=trace-cmp} ;;
*) SIMMM_LIB_CFLAGS=${SIMMM_LIB_CFLAGS-} ;;
esac
# The oracles stay out of the coverage (fuzz/coverage-ignore.txt) whenever
# the compiler instruments for it.
case "$CFLAGS" in
*fuzzer-no-link* | *-fsanitize-coverage=*) CFLAGS="$CFLAGS -fsanitize-coverage-ignorelist=$ROOT/fuzz/coverage-ignore.txt" ;;
esac
HARNESSES="fuzz_entries fuzz_mm_ops fuzz_races"

mkdir -p "$OUT" "$BUILD/obj"
# Same language settings as CMakeLists.txt; -Werror is left to CI.
COMMON="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DSIMMM_FUZZING=1"
# SIMMM_ASAN (a sanitizer build: small walk helpers forced inline) only
# with ASan; OSS-Fuzz also builds UBSan-only and coverage-only variants.
case "$CFLAGS" in
*-fsanitize=*address*) COMMON="$COMMON -DSIMMM_ASAN=1" ;;
esac
COMMON="$COMMON -I$ROOT/include -fno-strict-aliasing -fvisibility=hidden"

# -fvisibility=hidden as in CMake: SIMMM_API marks the public functions
# (SIMMM_BUILDING); a static archive links either way.
objs=()
for src in "$ROOT"/src/*/*.c; do
	rel=${src#"$ROOT"/src/}
	obj="$BUILD/obj/${rel//\//_}.o"
	# shellcheck disable=SC2086
	$CC $CFLAGS $SIMMM_LIB_CFLAGS $COMMON -DSIMMM_BUILDING=1 -I"$ROOT/src" -c "$src" -o "$obj" &
	objs+=("$obj")
	# at most $(nproc) compilers at once
	while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n; done
done
wait
rm -f "$BUILD/libsimmm.a"
ar rcs "$BUILD/libsimmm.a" "${objs[@]}"

for h in $HARNESSES; do
	# shellcheck disable=SC2086
	$CC $CFLAGS $COMMON -I"$ROOT/fuzz" -c "$ROOT/fuzz/$h.c" -o "$BUILD/$h.o"
	# shellcheck disable=SC2086
	$CC $CFLAGS $COMMON -I"$ROOT/fuzz" -c "$ROOT/fuzz/fuzz_common.c" -o "$BUILD/fuzz_common.o"
	# shellcheck disable=SC2086
	$CC $CFLAGS $LIB_FUZZING_ENGINE "$BUILD/$h.o" "$BUILD/fuzz_common.o" "$BUILD/libsimmm.a" \
		-lm -lpthread -o "$OUT/$h"
	cp "$ROOT/fuzz/$h.dict" "$OUT/$h.dict"
	rm -f "$OUT/${h}_seed_corpus.zip"
	(cd "$ROOT/fuzz/corpus/$h" && zip -q -r "$OUT/${h}_seed_corpus.zip" .)
done

# libFuzzer options per harness (OSS-Fuzz reads <fuzzer>.options).
cat > "$OUT/fuzz_entries.options" <<'OPT'
[libfuzzer]
dict = fuzz_entries.dict
OPT
cat > "$OUT/fuzz_mm_ops.options" <<'OPT'
[libfuzzer]
dict = fuzz_mm_ops.dict
max_len = 2048
entropic = 0
OPT
cat > "$OUT/fuzz_races.options" <<'OPT'
[libfuzzer]
dict = fuzz_races.dict
max_len = 512
entropic = 0
OPT
echo "built into $OUT: $HARNESSES"
