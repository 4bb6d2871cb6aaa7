#!/usr/bin/env bash
# Installs what Cairn needs on a fresh Debian machine: the C libraries it links (libb2, libxxhash),
# the peer tools its tests and benchmarks compare against, and a Python venv with genblaze-core
# for two-way manifest interop checks. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libb2-dev libxxhash-dev xxhash pkg-config sqlite3 libsqlite3-dev graphviz openssl git time file; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${CAIRN_SKIP_GENBLAZE:-0}" != "1" ] && [ ! -x .venv-gb/bin/python ]; then
    echo "setup: creating .venv-gb with genblaze-core 0.3.8" >&2
    python3 -m venv .venv-gb
    .venv-gb/bin/pip install -q genblaze-core==0.3.8
fi
