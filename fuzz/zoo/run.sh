#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The historical-bug zoo: put each bug back into a scratch copy of the tree
# and measure how long its fuzzer takes to find it again.
#
#   fuzz/zoo/run.sh [-t SECONDS] [-o DIR] [-c CORPUS] [-k] [NAME...]
#
#   NAME      zoo entries (fuzz/zoo/NAME.patch); default: all of them
#   -t SECS   time limit per bug (default 300, or $ZOO_TIME)
#   -o DIR    where scratch trees, logs and results go (default: a new
#             directory under ${TMPDIR:-/tmp}); results in DIR/results.tsv
#   -c DIR    start from DIR instead of the in-tree corpus: "seeds" = only
#             fuzz/corpus/<harness>/seed-*; any other value is a directory
#             holding <harness>/ subdirectories (read only, as the corpus)
#   -k        keep the scratch trees (default: only logs and reproducers)
#
# For every patch: copy the tree (tracked and untracked files, not build/)
# to DIR/NAME/src-tree, apply the patch there (the checkout is never
# touched), build the fuzzers with fuzz/build.sh (ASan + UBSan + libFuzzer,
# asserts on), and run the harness named by the patch's "# Harness:" line
# on one core from the in-tree corpus (fuzz/corpus/<harness>, read only),
# with -fork=1 -ignore_crashes=1 so that other crashes (known open bugs,
# kept in fuzz/regressions/<harness>-open/) do not stop it, and -timeout=30
# so that an input the put-back bug sends into a loop (memory it corrupted)
# becomes a timeout artifact instead of holding the run for libFuzzer's
# default 20 minutes. Every crash input is
# replayed at once with the patched binary; it counts as the zoo bug when
# its output matches the patch's "# Signature:" (an extended regex) AND the
# same input does not reproduce that signature on the clean tree (built
# once per invocation from the same copy without any patch). The time to
# find is from the start of the fuzzer to the crash input's creation (wall
# clock: it includes loading the corpus). The first such input is kept as
# DIR/NAME/repro; the table says whether it is an input of the in-tree
# corpus (found as the corpus loads) or a mutation.
#
# Output: one line per bug (found / not found, seconds, other crashes) and a
# Markdown table for docs/fuzzing-zoo.md in DIR/table.md.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LIMIT=${ZOO_TIME:-300}
OUTDIR=
KEEP=0
CORPUS=
while getopts "t:o:c:kh" opt; do
	case $opt in
	t) LIMIT=$OPTARG ;;
	o) OUTDIR=$OPTARG ;;
	k) KEEP=1 ;;
	c) CORPUS=$OPTARG ;;
	*) sed -n '4,35p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
	set -- $(cd "$ROOT/fuzz/zoo" && ls *.patch | sed 's/\.patch$//')
fi
for n in "$@"; do
	[ -f "$ROOT/fuzz/zoo/$n.patch" ] || { echo "no fuzz/zoo/$n.patch" >&2; exit 2; }
done
[ -n "$OUTDIR" ] || OUTDIR=$(mktemp -d "${TMPDIR:-/tmp}/simmm-zoo.XXXXXX")
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

log() { echo "zoo: $*" >&2; }

# The tree as it is in the checkout (tracked and untracked, not ignored).
copy_tree() {
	mkdir -p "$1"
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		tar --null -T - -cf -) | tar -xf - -C "$1"
}

build() { # tree outdir logfile
	OUT="$2" WORK="$(dirname "$2")/work" "$1/fuzz/build.sh" > "$3" 2>&1
}

field() { # patch key
	sed -n "s/^# $2: //p" "$1" | head -1
}

maxlen() {
	case $1 in fuzz_mm_ops) echo 2048 ;; fuzz_races) echo 512 ;; *) echo 4096 ;; esac
}

# Does @input reproduce @sig with @bin? (exit 0 = yes)
repro() { # bin input sig outfile
	timeout 120 "$1" -runs=1 "$2" > "$4" 2>&1
	grep -Eq -- "$3" "$4"
}

log "output in $OUTDIR"
CLEAN="$OUTDIR/clean"
copy_tree "$CLEAN/src-tree"
log "building the clean tree"
if ! build "$CLEAN/src-tree" "$CLEAN/out" "$CLEAN/build.log"; then
	log "the clean tree does not build: see $CLEAN/build.log"
	exit 1
fi

printf "name\tharness\tfound\tseconds\tcrashes\tother_crashes\tload\n" > "$OUTDIR/results.tsv"
for name in "$@"; do
	P="$ROOT/fuzz/zoo/$name.patch"
	D="$OUTDIR/$name"
	H=$(field "$P" Harness | awk '{print $1}')
	SIG=$(field "$P" Signature)
	rm -rf "$D"
	mkdir -p "$D/art" "$D/corpus" "$D/replay"
	copy_tree "$D/src-tree"
	if ! (cd "$D/src-tree" && patch -p1 --forward -s < "$P") > "$D/patch.log" 2>&1; then
		log "$name: the patch does not apply (see $D/patch.log)"
		printf "%s\t%s\tno-apply\t-\t-\t-\t-\n" "$name" "$H" >> "$OUTDIR/results.tsv"
		continue
	fi
	log "$name: building"
	if ! build "$D/src-tree" "$D/out" "$D/build.log"; then
		log "$name: the patched tree does not build (see $D/build.log)"
		printf "%s\t%s\tno-build\t-\t-\t-\t-\n" "$name" "$H" >> "$OUTDIR/results.tsv"
		continue
	fi
	BIN="$D/out/$H"
	SEEDDIR="$ROOT/fuzz/corpus/$H"
	if [ "$CORPUS" = seeds ]; then
		SEEDDIR="$D/seeds"
		mkdir -p "$SEEDDIR"
		cp "$ROOT/fuzz/corpus/$H"/seed-* "$SEEDDIR"/
	elif [ -n "$CORPUS" ]; then
		SEEDDIR="$CORPUS/$H"
	fi
	load=$(cut -d' ' -f1 /proc/loadavg)
	log "$name: fuzzing $H for up to ${LIMIT}s (signature: $SIG)"
	start=$(date +%s.%N)
	setsid "$BIN" -entropic=0 -fork=1 -ignore_crashes=1 -timeout=30 -max_len="$(maxlen "$H")" \
		-dict="$ROOT/fuzz/$H.dict" -max_total_time="$LIMIT" -artifact_prefix="$D/art/" \
		"$D/corpus" "$SEEDDIR" > "$D/fuzz.log" 2>&1 &
	pid=$!
	found=no secs=- crashes=0 others=0
	declare -A seen=()
	while :; do
		alive=1
		kill -0 "$pid" 2>/dev/null || alive=0
		for a in "$D"/art/*; do
			[ -f "$a" ] || continue
			b=$(basename "$a")
			[ -n "${seen[$b]:-}" ] && continue
			seen[$b]=1
			crashes=$((crashes + 1))
			if repro "$BIN" "$a" "$SIG" "$D/replay/$b.log" &&
			   ! repro "$CLEAN/out/$H" "$a" "$SIG" "$D/replay/$b.clean.log"; then
				found=yes
				secs=$(echo "$(stat -c %.3Y "$a") - $start" | bc)
				secs=$(printf "%.0f" "$secs")
				cp "$a" "$D/repro"
				break
			fi
			others=$((others + 1))
		done
		[ $found = yes ] && break
		[ $alive = 1 ] || break
		sleep 2
	done
	kill -- -"$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ $found = yes ]; then
		log "$name: FOUND after ${secs}s ($others other crashes first)"
	else
		log "$name: not found in ${LIMIT}s ($crashes crashes, none with the signature)"
	fi
	printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$name" "$H" "$found" "$secs" "$crashes" "$others" \
		"$load" >> "$OUTDIR/results.tsv"
	[ $KEEP = 1 ] || rm -rf "$D/src-tree" "$D/work" "$D/out" "$D/corpus" "$D/seeds"
	unset seen
done
[ $KEEP = 1 ] || rm -rf "$CLEAN"

{
	echo "| bug | harness | found | seconds | found by | crashes before (other bugs) | load |"
	echo "|---|---|---|---|---|---|---|"
	tail -n +2 "$OUTDIR/results.tsv" | while IFS=$'\t' read -r n h f s c o l; do
		by=-
		if [ -f "$OUTDIR/$n/repro" ]; then
			by="a mutation"
			sum=$(sha1sum < "$OUTDIR/$n/repro" | cut -c1-40)
			for cf in "$ROOT/fuzz/corpus/$h"/*; do
				if [ "$(sha1sum < "$cf" | cut -c1-40)" = "$sum" ]; then
					by="corpus input $(basename "$cf")"
					break
				fi
			done
		fi
		echo "| $n | $h | $f | $s | $by | $o | $l |"
	done
} > "$OUTDIR/table.md"
cat "$OUTDIR/table.md"
