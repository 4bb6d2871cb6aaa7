#!/usr/bin/env bash
# Installs what Cairn needs on a fresh Debian machine: the C libraries it links (libb2, libxxhash, libzstd; libcurl's
# development files for a -static-stdlib build of the CLI, scripts/build-libcairn.sh with CAIRN_BUILD_CLI=1),
# the peer tools its tests and benchmarks compare against, and a Python venv (.venv-gb) with genblaze-core for
# two-way manifest interop checks and the tools tests read exports with (scripts/python-requirements.txt).
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libb2-dev libxxhash-dev libzstd-dev xxhash pkg-config sqlite3 libsqlite3-dev graphviz chromium openssl git \
    time file xfsprogs libcurl4-openssl-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${CAIRN_SKIP_GENBLAZE:-0}" != "1" ]; then
    # .venv-gb holds scripts/python-requirements.txt (genblaze-core and the tools the tests read our output with);
    # a stamp of that file's hash makes a changed list install again.
    want=$(sha256sum scripts/python-requirements.txt | cut -d' ' -f1)
    have=$(cat .venv-gb/.requirements.sha256 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
        echo "setup: installing scripts/python-requirements.txt into .venv-gb" >&2
        [ -x .venv-gb/bin/python ] || python3 -m venv .venv-gb
        .venv-gb/bin/pip install -q --disable-pip-version-check -r scripts/python-requirements.txt
        echo "$want" > .venv-gb/.requirements.sha256
    fi
fi
