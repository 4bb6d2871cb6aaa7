#!/usr/bin/env bash
# Builds libcairn.so, the C ABI of include/cairn.h, as a self-contained shared library: release, the Swift runtime
# and Foundation linked in (-static-stdlib), only cairn_* exported (include/cairn.map). Loads on a machine without
# Swift. Output: .build-libcairn/libcairn.so (or the path in $1), printed on stdout. Reuses an up-to-date build.
# With CAIRN_BUILD_CLI=1 it also builds the `cairn` CLI with the same flags in the same folder
# (.build-libcairn/release/cairn), sharing the compiled modules: Benchmarks/compare/python.sh compares the two (the
# CLI links FoundationNetworking, which with -static-stdlib needs libcurl's development files: libcurl4-openssl-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-.build-libcairn/libcairn.so}
SCRATCH=.build-libcairn
FLAGS=(-c release --scratch-path "$SCRATCH" -Xswiftc -static-stdlib
    -Xlinker --version-script="$PWD/include/cairn.map" -Xlinker -soname=libcairn.so)
swift build "${FLAGS[@]}" --product CairnC >&2
if [ "${CAIRN_BUILD_CLI:-0}" = 1 ]; then
    swift build "${FLAGS[@]}" --product cairn >&2
fi
BUILT="$SCRATCH/release/libCairnC.so"
mkdir -p "$(dirname "$OUT")"
if [ "$BUILT" -nt "$OUT" ] || [ ! -e "$OUT" ]; then
    cp "$BUILT" "$OUT.tmp"
    # Debug info and local symbols out (about 104 MB -> 65 MB); the exported cairn_* symbols stay.
    strip --strip-unneeded "$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
fi
# A library that still needs a libswift*.so would not load on a machine without Swift: refuse it.
if ldd "$OUT" | grep -i swift >&2; then
    echo "build-libcairn: $OUT still needs Swift's shared runtime" >&2
    exit 1
fi
echo "$OUT"
