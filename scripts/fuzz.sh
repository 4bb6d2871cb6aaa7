#!/usr/bin/env bash
# Coverage-guided fuzzing of Cairn's parsers and verifiers with libFuzzer and AddressSanitizer (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Builds Sources/cairn-fuzz once (release, -sanitize=fuzzer,address -D CAIRN_FUZZ, in .build-fuzz; later runs reuse
# it), seeds each target's corpus from the repository's spec/vectors and examples, then runs each target until
# SECONDS_PER_TARGET (default 45) have passed or 10^6 inputs have run, whichever comes first. Prints executions and
# exec/s per target from libFuzzer's final stats. A crash, sanitizer report, leak, timeout (an input taking over
# 10 s) or out-of-memory (over 2 GiB) fails the script; the input that caused it is kept in
# fuzz-crashes/TARGET/ (replay: CAIRN_FUZZ_TARGET=TARGET .build-fuzz/release/cairn-fuzz FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-45}
shift || true
targets=("$@")
all=(digest json manifest ledger proof bundle pipeline)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for target in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $target "* ]] || { echo "fuzz.sh: unknown target $target (${all[*]})" >&2; exit 2; }
done
scratch=.build-fuzz
crashes=${CAIRN_FUZZ_CRASHES:-$root/fuzz-crashes}

echo "== swift build cairn-fuzz (-sanitize=fuzzer,address, $scratch)" >&2
start=$(date +%s)
swift build -c release --scratch-path "$scratch" --product cairn-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DCAIRN_FUZZ
echo "fuzz.sh: build took $(($(date +%s) - start)) s" >&2
binary=$scratch/release/cairn-fuzz

# Seeds: files copied (or, for digests and ledger entries, cut out of) the repository's vectors, one input each.
seed() {
    local target=$1 dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    case $target in
    digest)
        # digests.json gives each hash under its algorithm's name; the specs and store.txt give ALGO:HEX text.
        {
            sed -nE 's/.*"sha256": "([0-9a-f]{64})".*/sha256:\1/p; s/.*"blake2b256": "([0-9a-f]{64})".*/blake2b-256:\1/p' \
                spec/vectors/digests.json
            grep -ohE '(sha256|blake2b-256):[0-9a-f]{64}' spec/vectors/store.txt spec/*.md
        } | sort -u | awk -v dir="$dir" 'NR <= 64 { f = dir "/d" NR; printf "%s", $0 > f; close(f) }'
        ;;
    json)
        awk -v dir="$dir" '{ f = dir "/v" NR ".json"; printf "%s", $0 > f; close(f) }' \
            spec/vectors/canonical-json-values.jsonl
        cp spec/vectors/genblaze/cases/*.json spec/vectors/signed-note.json "$dir/"
        ;;
    manifest)
        cp spec/vectors/genblaze/cases/*.json "$dir/"
        ;;
    ledger)
        # entries.log payloads: the base64 entries of the bundle vector; checkpoint notes: the signed-note vector.
        python3 - "$dir" <<'PY'
import base64, json, sys
bundle = json.load(open("spec/vectors/bundle/run.bundle"))
for n, entry in enumerate(bundle["entries"]):
    open(f"{sys.argv[1]}/entry{n}", "wb").write(base64.b64decode(entry["entry"]))
open(f"{sys.argv[1]}/checkpoint", "w").write(bundle["checkpoint"])
PY
        cp spec/vectors/signed-note.json spec/vectors/bundle/key.pub "$dir/"
        ;;
    proof)
        cp spec/vectors/merkle-rfc6962.json spec/vectors/bundle/run.bundle "$dir/"
        ;;
    bundle)
        cp spec/vectors/bundle/run.bundle "$dir/"
        ;;
    pipeline)
        cp examples/*.yaml spec/vectors/pipeline-fingerprints.json "$dir/"
        ;;
    esac
}

failed=()
printf '%-10s %12s %10s %8s\n' target executions exec/s rss_mb
for target in "${targets[@]}"; do
    corpus=$scratch/corpus/$target
    seeds=$scratch/seeds/$target
    seed "$target" "$seeds"
    mkdir -p "$corpus" "$crashes/$target"
    log=$scratch/fuzz-$target.log
    status=0
    # The corpus directory keeps what earlier runs found; the seeds directory is read only.
    CAIRN_FUZZ_TARGET=$target "$binary" "$corpus" "$seeds" \
        -max_total_time="$seconds" -runs=1000000 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/$target/" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    printf '%-10s %12s %10s %8s\n' "$target" "${runs:-?}" "${rate:-?}" "${rss:-?}"
    if [ "$status" != 0 ]; then
        echo "fuzz.sh: $target failed (exit $status); log $log, input in $crashes/$target/:" >&2
        ls "$crashes/$target" >&2
        grep -m1 -A12 -E 'ERROR|Fatal error|deadly signal|timeout|out-of-memory' "$log" >&2 || tail -20 "$log" >&2
        failed+=("$target")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failing targets: ${failed[*]}" >&2
    exit 1
fi
