#!/usr/bin/env bash
# Sets up a fresh machine, builds Cairn, and runs the demo on the embedded default store.
set -euo pipefail
cd "$(dirname "$0")/.."
CAIRN_SKIP_GENBLAZE=1 bash scripts/setup.sh
swift build -c release --product cairn >&2
cairn=".build/release/cairn"
export CAIRN_HOME="${CAIRN_HOME:-$PWD/.cairn}"

echo "== store round trip on $CAIRN_HOME" >&2
[ -f "$CAIRN_HOME/config.json" ] || "$cairn" init
printf 'hello, cairn\n' > /tmp/cairn-demo.txt
"$cairn" put /tmp/cairn-demo.txt
