#!/usr/bin/env bash
# Same-run store comparisons (release build; medians of RUNS runs; every run in a fresh directory):
#   1. put of a SIZE_MIB page-cached file: durability none vs `openssl dgst -sha256` of it,
#      durability object vs `cp FILE x && sync x`;
#   2. FILES x 4 KiB files: batch durability (`cairn put --stdin-paths`) vs `git hash-object -w --stdin-paths`
#      (git does not fsync) and vs the filesystem's own ceiling in the same run (fsfloor.c creating FILES files:
#      `none` = create+write only, `syncfs` = the same plus one syncfs) and vs the batch protocol itself in plain C
#      (batchprotocol.c: temp in tmp/, write, xattr, fchmod, syncfs, renameat2 into place, syncfs; no hashing);
#      object durability vs fsfloor's `durable` create rate (write, fsync, rename, fsync dir) on OBJECT_FILES files;
#   3. fsck with 2 jobs vs 1 of a store of many objects (FILES x 4 KiB + 256 x 4 MiB), and, on a separate line, of
#      FILES x 4 KiB + one SIZE_MIB object (bound by that one object's sequential hash);
#   4. peak RSS of a streaming put of a RSS_GIB sparse file (durability none), via /usr/bin/time.
# Usage: Benchmarks/compare/store.sh [SIZE_MIB=1024] [FILES=10000] [RSS_GIB=10] [RUNS=3] [OBJECT_FILES=2000]
# Env: SCRATCH (build folder, default .build-store-bench), BENCH_DIR (where to work, default /var/tmp),
#      CAIRN_BIN (use this cairn binary instead of building one), PARTS (default "large small fsck rss").
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
SIZE_MIB=${1:-1024}
FILES=${2:-10000}
RSS_GIB=${3:-10}
RUNS=${4:-3}
OBJECT_FILES=${5:-2000}
SCRATCH=${SCRATCH:-.build-store-bench}
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/cairn-store-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for tool in openssl git gcc python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "store.sh: $tool is required" >&2; exit 2; }
done

if [ -n "${CAIRN_BIN:-}" ]; then
    CAIRN=$CAIRN_BIN
else
    swift build -c release --scratch-path "$SCRATCH" --product cairn >&2
    CAIRN="$SCRATCH/release/cairn"
fi
gcc -O2 -o "$WORK/fsfloor" Benchmarks/compare/fsfloor.c
gcc -O2 -o "$WORK/batchprotocol" Benchmarks/compare/batchprotocol.c

# seconds COMMAND...: wall-clock seconds of one run, output discarded.
# Flushes dirty data first, so no run pays for an earlier one's writes (batch mode's syncfs would).
seconds() {
    local start end
    sync
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 -c "print($end - $start)"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
rate() { python3 -c "print(f'{$1 / $2:.0f}')"; }
fresh() { mktemp -d "$WORK/run.XXXXXX"; }
PARTS=${PARTS:-large small fsck rss}
want() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

BIG="$WORK/big.bin"
if want large || want fsck; then
    head -c $((SIZE_MIB << 20)) /dev/urandom >"$BIG"
    cat "$BIG" >/dev/null
fi
if want large; then
echo "== put of a $SIZE_MIB MiB page-cached file, $RUNS runs (disk: $(df -T "$WORK" | awk 'NR==2 {print $2}'); $(load))"
mb=$(python3 -c "print($SIZE_MIB * 1048576 / 1e6)")
none=(); openssl=(); durable=(); cpsync=()
for _ in $(seq "$RUNS"); do
    dir=$(fresh); "$CAIRN" init --store "$dir" --durability none >/dev/null
    none+=("$(seconds "$CAIRN" put --store "$dir" "$BIG")")
    openssl+=("$(seconds openssl dgst -sha256 "$BIG")")
    dir=$(fresh); "$CAIRN" init --store "$dir" --durability object >/dev/null
    durable+=("$(seconds "$CAIRN" put --store "$dir" "$BIG")")
    dir=$(fresh)
    cpsync+=("$(seconds sh -c "cp '$BIG' '$dir/x' && sync '$dir/x'")")
    rm -rf "$WORK"/run*
done
n=$(printf '%s\n' "${none[@]}" | median); o=$(printf '%s\n' "${openssl[@]}" | median)
d=$(printf '%s\n' "${durable[@]}" | median); c=$(printf '%s\n' "${cpsync[@]}" | median)
echo "cairn put, durability none:    $(rate "$mb" "$n") MB/s   openssl dgst -sha256: $(rate "$mb" "$o") MB/s   ratio $(ratio "$o" "$n") (target >= 0.9x)"
echo "cairn put, durability object:  $(rate "$mb" "$d") MB/s   cp FILE x && sync x:  $(rate "$mb" "$c") MB/s   ratio $(ratio "$c" "$d") (target >= 0.9x)"
fi

SMALL="$WORK/small"
if want small || want fsck; then
python3 - "$SMALL" "$FILES" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
os.makedirs(root)
for i in range(count):
    with open(f"{root}/f{i:06d}", "wb") as f:
        f.write(os.urandom(4096))
PY
fi
if want small; then
echo "== $FILES x 4 KiB files, $RUNS runs ($(load))"
batch=(); git=(); object=(); fsb=(); rawnone=(); rawsync=(); protocol=()
ALL_LIST="$WORK/all-files.txt"
OBJ_LIST="$WORK/object-files.txt"
{ ls -1 "$SMALL"/* || true; } >"$ALL_LIST"
sed -n "1,${OBJECT_FILES}p" "$ALL_LIST" >"$OBJ_LIST"
# fsfloor_field DIR N MODE FIELD: fsfloor's seconds (field 1) or files/s (field 2) for creating N files.
fsfloor_field() { "$WORK/fsfloor" "$1" "$2" "$3" | awk -v f="$4" '{print $f}'; }
for _ in $(seq "$RUNS"); do
    dir=$(fresh); "$CAIRN" init --store "$dir" --durability batch >/dev/null
    batch+=("$(seconds sh -c "'$CAIRN' put --store '$dir' --stdin-paths < '$ALL_LIST'")")
    dir=$(fresh); git init -q "$dir"
    git+=("$(seconds sh -c "cd '$dir' && git hash-object -w --stdin-paths < '$ALL_LIST'")")
    dir=$(fresh); sync; rawnone+=("$(fsfloor_field "$dir" "$FILES" none 1)")
    dir=$(fresh); sync; rawsync+=("$(fsfloor_field "$dir" "$FILES" syncfs 1)")
    dir=$(fresh); sync; protocol+=("$("$WORK/batchprotocol" "$dir" "$FILES")")
    dir=$(fresh); "$CAIRN" init --store "$dir" --durability object >/dev/null
    object+=("$(seconds sh -c "'$CAIRN' put --store '$dir' --stdin-paths < '$OBJ_LIST'")")
    dir=$(fresh)
    fsb+=("$(fsfloor_field "$dir" "$OBJECT_FILES" durable 2)")
    # No deletes between runs: this ext4 creates files much more slowly right after a mass delete.
done
b=$(printf '%s\n' "${batch[@]}" | median); g=$(printf '%s\n' "${git[@]}" | median)
rn=$(printf '%s\n' "${rawnone[@]}" | median); rs=$(printf '%s\n' "${rawsync[@]}" | median)
bp=$(printf '%s\n' "${protocol[@]}" | median)
ob=$(printf '%s\n' "${object[@]}" | median); f=$(printf '%s\n' "${fsb[@]}" | median)
echo "cairn put --stdin-paths, durability batch: $(rate "$FILES" "$b") objects/s"
echo "  vs git hash-object -w --stdin-paths: $(rate "$FILES" "$g") objects/s, ratio $(ratio "$g" "$b") (target >= 5x)"
echo "  vs fsfloor none (create+write, no sync): $(rate "$FILES" "$rn") files/s, ratio $(ratio "$rn" "$b")"
echo "  vs fsfloor syncfs (the same + one syncfs): $(rate "$FILES" "$rs") files/s, ratio $(ratio "$rs" "$b")"
echo "  vs the batch protocol in C (batchprotocol.c): $(rate "$FILES" "$bp") objects/s, ratio $(ratio "$bp" "$b")"
echo "  (5x git would be $(rate "$((FILES * 5))" "$g") objects/s)"
echo "cairn put --stdin-paths, durability object: $(rate "$OBJECT_FILES" "$ob") objects/s   fsfloor durable: $f objects/s   ratio $(python3 -c "print(f'{$OBJECT_FILES / $ob / $f:.2f}x')") (target >= 0.8x)"
echo "($(load))"
fi
if want fsck; then
echo "== fsck, $RUNS runs ($(load))"
MANY="$WORK/many"
python3 - "$MANY" <<'PY'
import os, sys
os.makedirs(sys.argv[1])
for i in range(256):
    with open(f"{sys.argv[1]}/m{i:03d}", "wb") as f:
        f.write(os.urandom(4 << 20))
PY
# cpu_seconds COMMAND...: user + system CPU seconds of one run (after a sync), output discarded.
cpu_seconds() {
    sync
    /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}'
}
# fsck_ratio LABEL STORE BYTES: medians of --jobs 1 and --jobs 2 over RUNS runs, their ratio, and the CPU seconds
# each used (equal CPU seconds with a ratio under 2x means the second core was busy with other work, not idle).
fsck_ratio() {
    local one=() two=() cpu1=() cpu2=() o1 o2 c1 c2 total
    for _ in $(seq "$RUNS"); do
        one+=("$(seconds "$CAIRN" fsck --store "$2" --jobs 1)")
        two+=("$(seconds "$CAIRN" fsck --store "$2" --jobs 2)")
        cpu1+=("$(cpu_seconds "$CAIRN" fsck --store "$2" --jobs 1)")
        cpu2+=("$(cpu_seconds "$CAIRN" fsck --store "$2" --jobs 2)")
    done
    o1=$(printf '%s\n' "${one[@]}" | median); o2=$(printf '%s\n' "${two[@]}" | median)
    c1=$(printf '%s\n' "${cpu1[@]}" | median); c2=$(printf '%s\n' "${cpu2[@]}" | median)
    total=$(python3 -c "print($3 / 1e6)")
    echo "$1: --jobs 2 $(rate "$total" "$o2") MB/s, --jobs 1 $(rate "$total" "$o1") MB/s, ratio $(ratio "$o1" "$o2")"
    echo "  CPU seconds (user+sys): --jobs 1 $c1, --jobs 2 $c2; wall seconds: --jobs 1 $(printf %.3f "$o1"), --jobs 2 $(printf %.3f "$o2")"
}
dir=$(fresh); "$CAIRN" init --store "$dir" --durability none >/dev/null
{ ls -1 "$SMALL"/* "$MANY"/*; } | "$CAIRN" put --store "$dir" --stdin-paths >/dev/null
fsck_ratio "fsck of $FILES x 4 KiB + 256 x 4 MiB (target >= 1.8x)" "$dir" "$((FILES * 4096 + 256 * 4194304))"
dir=$(fresh); "$CAIRN" init --store "$dir" --durability none >/dev/null
{ ls -1 "$SMALL"/*; echo "$BIG"; } | "$CAIRN" put --store "$dir" --stdin-paths >/dev/null
fsck_ratio "fsck of $FILES x 4 KiB + one $SIZE_MIB MiB object (bound by that one object's sequential SHA-256)" \
    "$dir" "$((FILES * 4096 + SIZE_MIB * 1048576))"
echo "($(load))"
fi
if want rss; then

echo "== peak RSS of a streaming put of a $RSS_GIB GiB file (sparse input, durability none)"
SPARSE="$WORK/sparse.bin"
truncate -s "${RSS_GIB}G" "$SPARSE"
dir=$(fresh); "$CAIRN" init --store "$dir" --durability none >/dev/null
rss=$(/usr/bin/time -f '%M' "$CAIRN" put --store "$dir" "$SPARSE" 2>&1 >/dev/null | tail -1)
echo "cairn put of $RSS_GIB GiB: peak RSS $((rss / 1024)) MiB (target < 64 MiB)"
fi
