#!/usr/bin/env bash
# Sets up a fresh machine, builds Cairn, and runs the demo on the embedded default store:
# prompt refinement v1 -> v2, a fork of v1's image into a video, a 3-prompt batch, then the lineage of the
# result and an offline verification of every manifest the demo wrote.
# CAIRN_HOME picks the store (default ./.cairn); CAIRN_BIN skips the build and uses that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CAIRN_BIN:-}" ]; then
    CAIRN_SKIP_GENBLAZE=1 bash scripts/setup.sh
    swift build -c release --product cairn >&2
fi
cairn="${CAIRN_BIN:-.build/release/cairn}"
export CAIRN_HOME="${CAIRN_HOME:-$PWD/.cairn}"
[ -f "$CAIRN_HOME/config.json" ] || "$cairn" init >&2

manifests=$(mktemp -d)
trap 'rm -rf "$manifests"' EXIT

# Runs a pipeline file, shows its report, and remembers its run ids and manifest digests.
run() {
    local out
    out=$("$cairn" run "$@")
    printf '%s\n' "$out" | grep -v '^next:'
    runs=$(printf '%s\n' "$out" | awk '/^run /{print $2}')
    printf '%s\n' "$out" | awk '/^  manifest /{print $2}' >> "$manifests/digests"
}

echo "== 1. prompt refinement, v1 (store: $CAIRN_HOME)"
run examples/hero-shot-v1.yaml
v1=$runs
echo
echo "== 2. prompt refinement, v2 (linked to v1)"
run --parent "$v1" examples/hero-shot-v2.yaml
v2=$runs
echo
echo "== 3. fork of v1's image into a video (chained: v1's image is the input)"
run --parent "$v1" examples/hero-video.yaml
video=$runs
echo
echo "== 4. a 3-prompt batch, linked to v2"
run --parent "$v2" examples/prompt-batch.yaml
echo
echo "== 5. lineage: the video's ancestors, then everything descended from v1"
"$cairn" lineage "$video"
"$cairn" lineage --descendants "$v1"
echo
echo "== 6. verify every manifest this demo wrote (canonical hash, sha256 of every asset, bytes in the store)"
files=()
i=0
while read -r digest; do
    i=$((i + 1))
    "$cairn" cat "$digest" > "$manifests/manifest-$i.json"
    files+=("$manifests/manifest-$i.json")
done < "$manifests/digests"
"$cairn" verify "${files[@]}"
echo
echo "next: cairn show $video | cairn log | cairn ledger verify | cairn run --resume examples/hero-shot-v1.yaml"
