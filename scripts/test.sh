#!/usr/bin/env bash
# Sets up a fresh machine and runs every check: formatting, a warnings-as-errors build, and the test suites.
# CAIRN_SLOW_TESTS=1 adds the slow suites (long crash loops, fuzzing, scale).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== swift format lint" >&2
git ls-files -z '*.swift' | xargs -0 swift format lint --strict --parallel

echo "== swift build" >&2
swift build --build-tests -Xswiftc -warnings-as-errors

echo "== swift test" >&2
export CAIRN_GENBLAZE_PYTHON="${CAIRN_GENBLAZE_PYTHON:-$PWD/.venv-gb/bin/python}"
swift test --skip-build --parallel --num-workers 2 2>&1 | tee .build/test-output.txt
