#!/usr/bin/env bash
# Same-run figures for taking a run elsewhere (release build, medians of RUNS runs):
#   1. `cairn checkout RUN DIR` of a run with FILES outputs of MIB MiB each (bytes verified, files synced, read-only)
#      beside `cp` of the same object files into a folder followed by `sync` (what one does by hand, unverified);
#   2. where BENCH_REFLINK_DIR is on a filesystem with reflinks (XFS reflink=1, Btrfs): the same checkout, whose
#      files are then reflinks, beside `cp --reflink=always` of the same files + `sync`;
#   3. `cairn bundle` and `cairn verify --bundle` of that run.
# Usage: Benchmarks/compare/checkout.sh [FILES=8] [MIB=32] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
FILES=${1:-8}
MIB=${2:-32}
RUNS=${3:-5}
SCRATCH=${SCRATCH:-.build-release}
CAIRN=${CAIRN_BIN:-"$PWD/$SCRATCH/release/cairn"}
[ -x "$CAIRN" ] || swift build -c release --scratch-path "$SCRATCH" --product cairn >&2

now() { python3 -c 'import time; print(time.perf_counter())'; }

# Makes a store in $1 holding one run of FILES outputs; prints the run id.
make_run() {
    local dir=$1
    "$CAIRN" init --store "$dir/s" >/dev/null
    cat > "$dir/p.yaml" <<YAML
name: checkout-bench
providers:
  writer:
    type: process
    command: ["/bin/sh", "-c", "for i in \$(seq $FILES); do head -c $((MIB << 20)) /dev/urandom > \"\$CAIRN_OUTPUT_DIR/out-\$i.bin\"; done"]
    modalities: [text]
    timeout_s: 600
steps:
  - {name: write, provider: writer, model: sh, prompt: "random bytes", modality: text}
YAML
    "$CAIRN" run --json --store "$dir/s" "$dir/p.yaml" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])'
}

# Times `cairn checkout` (with $2 as its fs) against `cp $3` + sync of the same objects, RUNS times each.
compare() {
    local dir=$1 label=$2 cpflags=$3 run
    run=$(make_run "$dir")
    local objects
    objects=$(find "$dir/s/objects" -type f -size +100k)
    local ours=() theirs=() i start
    for i in $(seq "$RUNS"); do
        rm -rf "$dir/out" "$dir/cp"; sync
        start=$(now); "$CAIRN" checkout --store "$dir/s" "$run" "$dir/out" >/dev/null; ours+=("$(python3 -c "print($(now) - $start)")")
        mkdir "$dir/cp"; sync
        start=$(now)
        # shellcheck disable=SC2086
        for f in $objects; do cp $cpflags "$f" "$dir/cp/"; done
        sync
        theirs+=("$(python3 -c "print($(now) - $start)")")
    done
    local a b
    a=$(printf '%s\n' "${ours[@]}" | median)
    b=$(printf '%s\n' "${theirs[@]}" | median)
    printf '%-46s cairn checkout %8.3f s   cp %s + sync %8.3f s   ratio %.2fx\n' \
        "$label ($(df -T "$dir" | awk 'NR==2 {print $2}'))" "$a" "${cpflags:-}" "$b" "$(python3 -c "print($a/$b)")"
    FIRST_RUN=${FIRST_RUN:-$run}
}

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-checkout-bench.XXXXXX")
trap 'rm -rf "$WORK" ${REFLINK_WORK:+"$REFLINK_WORK"}' EXIT
echo "== checkout of a run with $FILES outputs of $MIB MiB, $RUNS runs"
compare "$WORK" "copies" ""
if [ -n "${BENCH_REFLINK_DIR:-}" ]; then
    REFLINK_WORK=$(mktemp -d "$BENCH_REFLINK_DIR/cairn-checkout-bench.XXXXXX")
    compare "$REFLINK_WORK" "reflinks" "--reflink=always"
fi

echo "== bundle of that run, $RUNS runs"
make=() check=()
for i in $(seq "$RUNS"); do
    start=$(now); "$CAIRN" bundle --store "$WORK/s" "$FIRST_RUN" -o "$WORK/run.bundle"; make+=("$(python3 -c "print($(now) - $start)")")
    start=$(now); "$CAIRN" verify --bundle "$WORK/run.bundle" --key "$WORK/s/ledger/key.pub" >/dev/null
    check+=("$(python3 -c "print($(now) - $start)")")
done
printf 'cairn bundle %8.3f s, cairn verify --bundle %8.3f s (%s bytes)\n' \
    "$(printf '%s\n' "${make[@]}" | median)" "$(printf '%s\n' "${check[@]}" | median)" "$(wc -c < "$WORK/run.bundle")"
